/*
 * module_registry.h - instrumented modules and process-wide function ids.
 *
 * Each registered module owns the ids [id_base, id_base + function_count);
 * id_base is never 0 nor ZINST_ID_BASE_UNREGISTERED, which mean "not
 * registered" (zinst_id_base_registered), and it is a multiple
 * of ZINST_ID_BASE_ALIGNMENT (zinst_abi.h): the ids up to it are unused,
 * and profiles number functions without those gaps. A module registered
 * while an identical one is unloaded (a library opened again after
 * dlclose) gets that one's ids and sites back, so its counts add up. All of this is cold
 * path under the runtime lock, except the refusal check which is lock-free.
 */
#ifndef ZINST_MODULE_REGISTRY_H
#define ZINST_MODULE_REGISTRY_H

#include "zinst_abi.h"

#include "profile_writer.h"

#include <stdint.h>

/* Whether a module's id_base (read relaxed) is one the runtime gave it:
 * neither 0 nor ZINST_ID_BASE_UNREGISTERED (zinst_abi.h), nor above. */
static inline __attribute__((always_inline)) int zinst_id_base_registered(uint32_t id_base) {
  return id_base - 1u < ZINST_ID_BASE_UNREGISTERED - 1u;
}

/* Register `module` if it is not yet (idempotent) and return its id_base, or
 * 0 if it is refused (wrong ABI version, no ids left, or not of the
 * process's kind: see zinst_registry_inline_tree): a refused module
 * gets one message on stderr and its events are ignored from then on. Takes
 * the runtime lock unless the answer is known without it. */
uint32_t zinst_registry_register(struct zinst_module_info *module);

/* The hooks' slow path when module->id_base is not registered yet. Like
 * zinst_registry_register(), but returns 0 without locking when this thread
 * is inside the runtime (see zinst_tls_in_runtime). */
uint32_t zinst_registry_register_lazily(struct zinst_module_info *module);

/* Forget `module`'s memory (it is about to be unmapped by dlclose): its
 * names are copied into runtime memory so later dumps still name its
 * functions, and it is flagged ZINST_MODULE_UNLOADED. Takes the runtime lock. */
void zinst_registry_unregister(struct zinst_module_info *module);

/* Fill the function, module and site tables of `snapshot` (heap arrays owned by
 * the snapshot, released by zinst_registry_free_tables). The strings are
 * borrowed from the registry and from live modules: they stay valid only
 * while the caller holds the runtime lock. Returns 0 or -1 (ENOMEM). */
int zinst_registry_fill_snapshot(struct zinst_snapshot *snapshot);
void zinst_registry_free_tables(struct zinst_snapshot *snapshot);

/* Whether the process's modules keep their calling-context tree in inline
 * code (ZINST_MODULE_INLINE_TREE) rather than through the hooks. The first
 * module registered (zones aside: they follow the process) decides, before
 * the runtime initializes if it is the first event; a later module of
 * another kind is refused. Then profiles are count-mode, no times, unless
 * the modules time activations too (zinst_registry_inline_time). */
int zinst_registry_inline_tree(void);

/* Whether the process's modules also time activations in inline code
 * (ZINST_MODULE_INLINE_TIME): then zinst_registry_inline_tree() too. */
int zinst_registry_inline_time(void);

/* Process-wide sites assigned so far (every thread's counter array holds
 * them after the sink). The caller holds the runtime lock. */
uint32_t zinst_registry_site_count(void);

#endif /* ZINST_MODULE_REGISTRY_H */
