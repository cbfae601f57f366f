/*
 * zinst_abi.h - the contract between the compiler pass and the runtime.
 *
 * The pass (pass/) emits, in every instrumented module:
 *
 *   - a constant table of struct zinst_function_info, one per instrumented
 *     function, in the order of their module-local indices 0..n-1;
 *   - one writable struct zinst_module_info that points at that table;
 *   - a constructor (llvm.global_ctors, priority ZINST_CTOR_PRIORITY) calling
 *     __zinst_register_module(&module) and a destructor (llvm.global_dtors)
 *     calling __zinst_unregister_module(&module);
 *   - in each instrumented function, __zinst_enter(&module, index) at entry
 *     and __zinst_exit(&module, index) on every way out.
 *
 * The runtime (runtime/) assigns each module a block of process-wide function
 * ids on registration. Registration is also done lazily by the first hook, so
 * a function called from another module's constructor before this module's
 * own constructor ran is still counted.
 *
 * Any change to these types or signatures bumps ZINST_ABI_VERSION; the
 * runtime refuses (with a message) modules of another version.
 */
#ifndef ZINST_ABI_H
#define ZINST_ABI_H

#include <stdint.h>

#define ZINST_ABI_VERSION 1u
#define ZINST_CTOR_PRIORITY 101 /* earliest priority open to programs */

#define ZINST_FUNCTION_INFO_DEBUG 0x1u /* file/line from DISubprogram */

/* One instrumented function; emitted as constant data by the pass. */
struct zinst_function_info {
  const char *name;         /* display name, demangled for C++ */
  const char *linkage_name; /* symbol name */
  const char *file;         /* source path from debug info, else the module's source file */
  uint32_t line;            /* from debug info, 0 if unknown */
  uint32_t flags;           /* ZINST_FUNCTION_INFO_* */
};

/* One instrumented module (translation unit, or LTO partition). */
struct zinst_module_info {
  uint32_t abi_version;   /* ZINST_ABI_VERSION of the pass that emitted it */
  uint32_t function_count;
  const struct zinst_function_info *functions; /* function_count entries */
  const char *source_file; /* the module's source file name */
  uint32_t id_base;        /* written by the runtime; 0 = not registered yet */
  uint32_t reserved;       /* written by the runtime */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Hooks. Never called by hand; their names start with __zinst_ so the pass
 * can recognise and skip the runtime. */
void __zinst_enter(struct zinst_module_info *module, uint32_t index);
void __zinst_exit(struct zinst_module_info *module, uint32_t index);
void __zinst_register_module(struct zinst_module_info *module);
void __zinst_unregister_module(struct zinst_module_info *module);

#ifdef __cplusplus
}
#endif

#endif /* ZINST_ABI_H */
