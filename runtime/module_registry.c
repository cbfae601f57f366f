/*
 * module_registry.c - module registration, function ids, unloading.
 */
#include "module_registry.h"

#include "runtime_internal.h"
#include "zinst_format.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

/* module->reserved value for a module the runtime refused. */
#define MODULE_REFUSED 0x5A524546u

struct registered_module {
  /* The module's own descriptor while it is loaded; NULL after unregister. */
  struct zinst_module_info *info;
  /* After unregister: runtime-owned copies of the descriptor's strings
   * (source file, then per function name, linkage name, file), one block. */
  char *saved_strings;
  struct zinst_function_info *saved_functions;
  const char *saved_source_file;
  /* After unregister: copies of the site table and its strings (NULL if
   * the module has no counted sites or the copy failed). */
  struct zinst_site_info *saved_sites;
  char *saved_site_strings;
  uint32_t id_base;
  uint32_t function_count;
  /* The descriptor's own site_count (sites counted or not). */
  uint32_t declared_site_count;
  /* Its sites are the process-wide sites [site_base - ZINST_MAX_MODULE_SITES,
   * + site_count); site_count 0 when it has none or they are not counted. */
  uint32_t site_base;
  uint32_t site_count;
  /* How it was built, for the profile (zinst_format.h, ZINST_MODULE_*). */
  uint32_t build_flags;
};

/* Guarded by the runtime lock. Grows by doubling; entries never move in
 * meaning (index = registration order = MODULES index in profiles). */
static struct registered_module *modules;
static uint32_t module_count, module_capacity;
static uint32_t next_function_id = 1; /* the first unused id; id_bases are aligned up from it */
/* Counter slot of the next site; the slots below ZINST_MAX_MODULE_SITES are
 * the sink (site_counters.h). */
static uint32_t next_site_slot = ZINST_MAX_MODULE_SITES;

/* The process's kind (zinst_registry_inline_tree): KIND_UNDECIDED until the
 * first module that is not a zone registers; never changes after. */
enum { KIND_UNDECIDED, KIND_HOOKS, KIND_INLINE_TREE, KIND_INLINE_TIME };
static int process_kind = KIND_UNDECIDED;

int zinst_registry_inline_tree(void) {
  int kind = __atomic_load_n(&process_kind, __ATOMIC_RELAXED);
  return kind == KIND_INLINE_TREE || kind == KIND_INLINE_TIME;
}

int zinst_registry_inline_time(void) {
  return __atomic_load_n(&process_kind, __ATOMIC_RELAXED) == KIND_INLINE_TIME;
}

/* How a module of `kind` was built, for messages. */
static const char *kind_name(int kind) {
  switch (kind) {
  case KIND_INLINE_TREE:
    return "the inline tree without time (ZINST_INLINE_TREE=1)";
  case KIND_INLINE_TIME:
    return "inline timing (the default)";
  default:
    return "the hooks (ZINST_INLINE_TREE=0)";
  }
}

static bool is_zone_module(const struct zinst_module_info *module) {
  return module->function_count == 1 && module->functions != NULL &&
         (module->functions[0].flags & ZINST_FUNCTION_INFO_ZONE);
}

static int kind_of(const struct zinst_module_info *module) {
  if (!(module->flags & ZINST_MODULE_INLINE_TREE))
    return KIND_HOOKS;
  return (module->flags & ZINST_MODULE_INLINE_TIME) ? KIND_INLINE_TIME : KIND_INLINE_TREE;
}

static void refuse(struct zinst_module_info *module, const char *why) {
  const char *name = module->source_file ? module->source_file : "(unnamed module)";
  fprintf(stderr, "zinst: ignoring instrumented module %s: %s\n", name, why);
  __atomic_store_n(&module->reserved, MODULE_REFUSED, __ATOMIC_RELAXED);
}

/* The profile's flags for how `module` was built (zinst_format.h). */
static uint32_t build_flags(const struct zinst_module_info *module) {
  uint32_t flags = 0;
  if (module->flags & ZINST_MODULE_INLINE_TREE)
    flags |= ZINST_MODULE_INLINE_CODE;
  if (module->flags & ZINST_MODULE_INLINE_TIME)
    flags |= ZINST_MODULE_INLINE_TIMING;
  return flags;
}

static bool same_string(const char *saved, const char *s) {
  return strcmp(saved, s ? s : "") == 0; /* the copies hold "" for NULL */
}

/* Whether `module` describes exactly what the unloaded `entry` did: the
 * same library opened again after dlclose (its descriptor is new memory,
 * perhaps at the old address, perhaps not). Every string and number of the
 * functions and of the counted sites is compared, so a rebuilt library
 * with any difference is a new module. False when the copies made at
 * unload were lost to an allocation failure: nothing to compare with. */
static bool same_module(const struct registered_module *entry,
                        const struct zinst_module_info *module) {
  if (entry->info != NULL || entry->saved_functions == NULL ||
      entry->function_count != module->function_count ||
      entry->declared_site_count != module->site_count ||
      !same_string(entry->saved_source_file, module->source_file))
    return false;
  for (uint32_t f = 0; f < entry->function_count; f++) {
    const struct zinst_function_info *saved = &entry->saved_functions[f];
    const struct zinst_function_info *fn = &module->functions[f];
    if (saved->line != fn->line || saved->flags != fn->flags ||
        !same_string(saved->name, fn->name) ||
        !same_string(saved->linkage_name, fn->linkage_name) || !same_string(saved->file, fn->file))
      return false;
  }
  if (entry->site_count == 0)
    return true; /* no sites, or not counted: the new ones are not either */
  if (entry->saved_sites == NULL || module->sites == NULL)
    return false;
  for (uint32_t s = 0; s < entry->site_count; s++) {
    const struct zinst_site_info *saved = &entry->saved_sites[s];
    const struct zinst_site_info *site = &module->sites[s];
    if (saved->line != site->line || saved->column != site->column || saved->flags != site->flags ||
        saved->cost != site->cost || saved->threshold != site->threshold ||
        saved->callee_instructions != site->callee_instructions ||
        saved->caller_index != site->caller_index || saved->callee_index != site->callee_index ||
        saved->shared_counter != site->shared_counter ||
        !same_string(saved->caller, site->caller) ||
        !same_string(saved->caller_linkage, site->caller_linkage) ||
        !same_string(saved->callee, site->callee) ||
        !same_string(saved->callee_linkage, site->callee_linkage) ||
        !same_string(saved->file, site->file) || !same_string(saved->reason, site->reason))
      return false;
  }
  return true;
}

/* Writes `module`'s function_ids (inline code reads its ids there), before
 * id_base is published. */
static void write_function_ids(struct zinst_module_info *module, uint32_t id_base) {
  if (module->function_ids == NULL)
    return;
  for (uint32_t i = 0; i < module->function_count; i++)
    __atomic_store_n(&module->function_ids[i], id_base + i, __ATOMIC_RELAXED);
}

/* Give `module` the ids and sites of the unloaded `entry` it is the same as
 * (same_module): its calls add to the counts of its earlier load, in the
 * same contexts, instead of appearing as a second copy of every function at
 * every reopening. The copies made at unload are freed: the module's own
 * descriptor names the functions again. Returns the id_base. */
static uint32_t reuse_entry(struct registered_module *entry, struct zinst_module_info *module) {
  free(entry->saved_strings);
  free(entry->saved_functions);
  free(entry->saved_sites);
  free(entry->saved_site_strings);
  entry->saved_strings = NULL;
  entry->saved_functions = NULL;
  entry->saved_sites = NULL;
  entry->saved_site_strings = NULL;
  entry->saved_source_file = NULL;
  entry->info = module;
  if (entry->site_base != 0)
    __atomic_store_n(&module->site_base, entry->site_base, __ATOMIC_RELEASE);
  write_function_ids(module, entry->id_base);
  /* Publish last, as for a new module. */
  __atomic_store_n(&module->id_base, entry->id_base, __ATOMIC_RELEASE);
  return entry->id_base;
}

static uint32_t register_locked(struct zinst_module_info *module) {
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (zinst_id_base_registered(id_base))
    return id_base;
  if (__atomic_load_n(&module->reserved, __ATOMIC_RELAXED) == MODULE_REFUSED)
    return 0;
  if (module->abi_version != ZINST_ABI_VERSION) {
    char why[96];
    snprintf(why, sizeof why, "it was built for zinst ABI version %u, this runtime has version %u",
             module->abi_version, ZINST_ABI_VERSION);
    refuse(module, why);
    return 0;
  }
  if (!is_zone_module(module)) {
    int kind = kind_of(module); /* process_kind was decided before the lock */
    int process = __atomic_load_n(&process_kind, __ATOMIC_RELAXED);
    if (kind != process) {
      char why[256];
      snprintf(why, sizeof why,
               "it was built with %s and the process runs modules built with %s; build every "
               "module alike",
               kind_name(kind), kind_name(process));
      refuse(module, why);
      return 0;
    }
    /* Also when the runtime initialized before (an allocation traced
     * before the first constructor): the profile has no times. */
    if (kind == KIND_INLINE_TREE)
      zinst_config.mode = ZINST_MODE_COUNT;
  }
  for (uint32_t m = 0; m < module_count; m++)
    if (same_module(&modules[m], module))
      return reuse_entry(&modules[m], module);
  uint64_t aligned_base = ((uint64_t)next_function_id + ZINST_ID_BASE_ALIGNMENT - 1) /
                          ZINST_ID_BASE_ALIGNMENT * ZINST_ID_BASE_ALIGNMENT;
  if (aligned_base + module->function_count >= ZINST_ID_BASE_UNREGISTERED) {
    refuse(module, "the process ran out of 32-bit function ids");
    return 0;
  }
  if (module_count == module_capacity) {
    uint32_t capacity = module_capacity ? module_capacity * 2 : 16;
    struct registered_module *grown = realloc(modules, capacity * sizeof *grown);
    if (!grown) {
      refuse(module, "out of memory registering it");
      return 0;
    }
    modules = grown;
    module_capacity = capacity;
  }
  id_base = (uint32_t)aligned_base;
  next_function_id = id_base + module->function_count;
  uint32_t site_base = 0, site_count = 0;
  if (module->site_count > 0) {
    if (module->site_count <= ZINST_MAX_MODULE_SITES && module->sites != NULL &&
        next_site_slot - ZINST_MAX_MODULE_SITES + (uint64_t)module->site_count <= ZINST_MAX_SITES) {
      site_base = next_site_slot;
      site_count = module->site_count;
      next_site_slot += site_count;
    } else {
      /* Its increments keep going to the sink. */
      const char *name = module->source_file ? module->source_file : "(unnamed module)";
      fprintf(stderr,
              "zinst: the %u inline/call sites of %s are not counted: the process has room "
              "for %u sites\n",
              module->site_count, name, ZINST_MAX_SITES);
    }
  }
  modules[module_count++] = (struct registered_module){.info = module,
                                                       .id_base = id_base,
                                                       .function_count = module->function_count,
                                                       .declared_site_count = module->site_count,
                                                       .site_base = site_base,
                                                       .site_count = site_count,
                                                       .build_flags = build_flags(module)};
  if (site_base != 0)
    __atomic_store_n(&module->site_base, site_base, __ATOMIC_RELEASE);
  write_function_ids(module, id_base);
  /* Publish last: a hook that sees a registered id_base may use it at once. */
  __atomic_store_n(&module->id_base, id_base, __ATOMIC_RELEASE);
  return id_base;
}

uint32_t zinst_registry_register(struct zinst_module_info *module) {
  if (__atomic_load_n(&module->reserved, __ATOMIC_RELAXED) == MODULE_REFUSED)
    return 0;
  /* The process's kind is decided here, before the runtime initializes:
   * an inline-tree program's profile has no times, so the first event must
   * not set the runtime up for them (no hook calibration). */
  if (module->abi_version == ZINST_ABI_VERSION && !is_zone_module(module))
    __atomic_compare_exchange_n(&process_kind, &(int){KIND_UNDECIDED}, kind_of(module), false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  zinst_runtime_init();
  zinst_runtime_lock();
  uint32_t id_base = register_locked(module);
  zinst_runtime_unlock();
  return id_base;
}

uint32_t zinst_registry_register_lazily(struct zinst_module_info *module) {
  if (zinst_tls_in_runtime)
    return 0;
  return zinst_registry_register(module);
}

static char *append_string(char *cursor, const char *s, const char **copy) {
  size_t length = s ? strlen(s) + 1 : 1;
  memcpy(cursor, s ? s : "", length);
  *copy = cursor;
  return cursor + length;
}

static size_t string_size(const char *s) {
  return s ? strlen(s) + 1 : 1;
}

/* Copy the counted sites of `module` (about to be unmapped) into runtime
 * memory owned by `entry`. On allocation failure the sites keep their
 * counts but lose their descriptions (written as empty strings). */
static void save_sites(struct registered_module *entry, const struct zinst_module_info *module) {
  if (entry->site_count == 0)
    return;
  size_t bytes = 0;
  for (uint32_t s = 0; s < entry->site_count; s++) {
    const struct zinst_site_info *site = &module->sites[s];
    bytes += string_size(site->caller) + string_size(site->caller_linkage) +
             string_size(site->callee) + string_size(site->callee_linkage) +
             string_size(site->file) + string_size(site->reason);
  }
  entry->saved_sites = malloc((size_t)entry->site_count * sizeof *entry->saved_sites);
  entry->saved_site_strings = malloc(bytes);
  if (!entry->saved_sites || !entry->saved_site_strings) {
    free(entry->saved_sites);
    free(entry->saved_site_strings);
    entry->saved_sites = NULL;
    entry->saved_site_strings = NULL;
    return;
  }
  char *cursor = entry->saved_site_strings;
  for (uint32_t s = 0; s < entry->site_count; s++) {
    const struct zinst_site_info *site = &module->sites[s];
    struct zinst_site_info *copy = &entry->saved_sites[s];
    *copy = *site;
    cursor = append_string(cursor, site->caller, &copy->caller);
    cursor = append_string(cursor, site->caller_linkage, &copy->caller_linkage);
    cursor = append_string(cursor, site->callee, &copy->callee);
    cursor = append_string(cursor, site->callee_linkage, &copy->callee_linkage);
    cursor = append_string(cursor, site->file, &copy->file);
    cursor = append_string(cursor, site->reason, &copy->reason);
  }
}

void zinst_registry_unregister(struct zinst_module_info *module) {
  zinst_runtime_lock();
  for (uint32_t m = 0; m < module_count; m++) {
    struct registered_module *entry = &modules[m];
    if (entry->info != module)
      continue;
    size_t bytes = module->source_file ? strlen(module->source_file) + 1 : 1;
    for (uint32_t f = 0; f < entry->function_count; f++) {
      const struct zinst_function_info *fn = &module->functions[f];
      bytes += (fn->name ? strlen(fn->name) : 0) +
               (fn->linkage_name ? strlen(fn->linkage_name) : 0) +
               (fn->file ? strlen(fn->file) : 0) + 3;
    }
    entry->saved_strings = malloc(bytes);
    entry->saved_functions = malloc((entry->function_count + 1u) * sizeof *entry->saved_functions);
    if (!entry->saved_strings || !entry->saved_functions) {
      /* Keep the ids, lose the names: the dump writes "" rather than read
       * unmapped memory. */
      free(entry->saved_strings);
      free(entry->saved_functions);
      entry->saved_strings = NULL;
      entry->saved_functions = NULL;
      entry->saved_source_file = "";
    } else {
      char *cursor =
          append_string(entry->saved_strings, module->source_file, &entry->saved_source_file);
      for (uint32_t f = 0; f < entry->function_count; f++) {
        const struct zinst_function_info *fn = &module->functions[f];
        struct zinst_function_info *copy = &entry->saved_functions[f];
        *copy = *fn;
        cursor = append_string(cursor, fn->name, &copy->name);
        cursor = append_string(cursor, fn->linkage_name, &copy->linkage_name);
        cursor = append_string(cursor, fn->file, &copy->file);
      }
    }
    save_sites(entry, module);
    entry->info = NULL;
    break;
  }
  zinst_runtime_unlock();
}

int zinst_registry_fill_snapshot(struct zinst_snapshot *snapshot) {
  /* The profile's function table leaves out the unused ids below each
   * id_base: function_of_id maps the ids to it. */
  uint32_t function_count = 0;
  for (uint32_t m = 0; m < module_count; m++)
    function_count += modules[m].function_count;
  struct zinst_snapshot_function *functions = calloc(function_count + 1u, sizeof *functions);
  struct zinst_snapshot_module *table = calloc(module_count + 1u, sizeof *table);
  uint32_t *function_of_id = malloc((size_t)next_function_id * sizeof *function_of_id);
  if (!functions || !table || !function_of_id) {
    free(functions);
    free(table);
    free(function_of_id);
    errno = ENOMEM;
    return -1;
  }
  for (uint32_t id = 0; id < next_function_id; id++)
    function_of_id[id] = ZINST_NONE;
  uint32_t first = 0;
  for (uint32_t m = 0; m < module_count; m++) {
    const struct registered_module *entry = &modules[m];
    const struct zinst_function_info *infos =
        entry->info ? entry->info->functions : entry->saved_functions;
    table[m] = (struct zinst_snapshot_module){
        .name = entry->info ? entry->info->source_file : entry->saved_source_file,
        .first_function = first,
        .function_count = entry->function_count,
        .flags = entry->build_flags | (entry->info ? 0 : ZINST_MODULE_UNLOADED),
    };
    for (uint32_t f = 0; f < entry->function_count; f++) {
      function_of_id[entry->id_base + f] = first + f;
      struct zinst_snapshot_function *out = &functions[first + f];
      out->module = m;
      if (!infos)
        continue; /* names lost to an allocation failure at unload */
      out->name = infos[f].name;
      out->linkage_name = infos[f].linkage_name;
      out->file = infos[f].file;
      out->line = infos[f].line;
      out->flags = (infos[f].flags & ZINST_FUNCTION_INFO_DEBUG) ? ZINST_FUNCTION_DEBUG_INFO : 0;
      if (infos[f].flags & ZINST_FUNCTION_INFO_LIBRARY)
        out->flags |= ZINST_FUNCTION_LIBRARY;
      if (infos[f].flags & ZINST_FUNCTION_INFO_ZONE)
        out->flags |= ZINST_FUNCTION_ZONE;
    }
    first += entry->function_count;
  }
  uint32_t site_total = next_site_slot - ZINST_MAX_MODULE_SITES;
  struct zinst_snapshot_site *sites = calloc(site_total + 1u, sizeof *sites);
  if (!sites) {
    free(functions);
    free(table);
    free(function_of_id);
    errno = ENOMEM;
    return -1;
  }
  for (uint32_t m = 0; m < module_count; m++) {
    const struct registered_module *entry = &modules[m];
    const struct zinst_site_info *infos = entry->info ? entry->info->sites : entry->saved_sites;
    for (uint32_t k = 0; k < entry->site_count; k++) {
      struct zinst_snapshot_site *out = &sites[entry->site_base - ZINST_MAX_MODULE_SITES + k];
      out->module = m;
      if (!infos)
        continue; /* descriptions lost to an allocation failure at unload */
      const struct zinst_site_info *site = &infos[k];
      out->caller = site->caller;
      out->caller_linkage = site->caller_linkage;
      out->callee = site->callee;
      out->callee_linkage = site->callee_linkage;
      out->file = site->file;
      out->reason = site->reason;
      out->line = site->line;
      out->column = site->column;
      /* The ABI's site bits are the format's. */
      out->flags = site->flags & ZINST_SITE_KNOWN_FLAGS;
      out->cost = site->cost;
      out->threshold = site->threshold;
      out->callee_instructions = site->callee_instructions;
      /* Counted from the tree: which functions' contexts hold its count. A
       * site naming functions its module does not have is written
       * uncounted, never with another's count. */
      if (site->flags & ZINST_SITE_INFO_TREE) {
        if (site->caller_index < entry->function_count &&
            site->callee_index < entry->function_count) {
          out->tree_caller = table[m].first_function + site->caller_index;
          out->tree_callee = table[m].first_function + site->callee_index;
        } else {
          out->flags &= ~(uint32_t)(ZINST_SITE_INFO_TREE | ZINST_SITE_INFO_COUNTED);
        }
      }
      /* Counted by another site's counter of the module: one that has its
       * own. A reference to anything else is written uncounted, never with
       * a wrong count. */
      if (site->shared_counter != 0) {
        uint32_t leader = site->shared_counter - 1;
        if (leader < entry->site_count && leader != k && infos[leader].shared_counter == 0 &&
            !(infos[leader].flags & ZINST_SITE_INFO_TREE))
          out->shared_counter = entry->site_base - ZINST_MAX_MODULE_SITES + leader + 1;
        else
          out->flags &= ~(uint32_t)ZINST_SITE_INFO_COUNTED;
      }
    }
  }
  snapshot->functions = functions;
  snapshot->function_count = function_count;
  snapshot->function_of_id = function_of_id;
  snapshot->function_id_count = next_function_id;
  snapshot->modules = table;
  snapshot->module_count = module_count;
  snapshot->sites = sites;
  snapshot->site_count = site_total;
  return 0;
}

uint32_t zinst_registry_site_count(void) {
  return next_site_slot - ZINST_MAX_MODULE_SITES;
}

void zinst_registry_free_tables(struct zinst_snapshot *snapshot) {
  free((void *)snapshot->functions);
  free((void *)snapshot->function_of_id);
  free((void *)snapshot->modules);
  free((void *)snapshot->sites);
  snapshot->sites = NULL;
  snapshot->site_count = 0;
  snapshot->functions = NULL;
  snapshot->function_of_id = NULL;
  snapshot->function_id_count = 0;
  snapshot->modules = NULL;
  snapshot->function_count = 0;
  snapshot->module_count = 0;
}
