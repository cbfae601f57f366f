//===- ModuleTable.h - the per-module function table and its registration -===//
//
// Emits what runtime/zinst_abi.h calls the module's table: one constant
// struct zinst_function_info per instrumented function, the writable struct
// zinst_module_info that points at them, and the constructor/destructor pair
// that registers the module with the runtime.
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_MODULETABLE_H
#define ZINST_PASS_MODULETABLE_H

#include "llvm/ADT/ArrayRef.h"

#include "InlineSiteTable.h"

#include <string>

namespace llvm {
class Function;
class GlobalVariable;
class Type;
class Module;
} // namespace llvm

namespace zinst {

/// One row of the table: how the profile names a function and where it is.
struct FunctionDescription {
  llvm::Function *Function = nullptr;
  std::string DisplayName; // demangled for C++, else the linkage name
  std::string File;        // from the DISubprogram, else the module's source file
  unsigned Line = 0;       // 0 without debug info
  bool FromDebugInfo = false;
  bool Library = false; // File lies under a -zinst-library-dir (Zig's std)
};

/// The path of a source file as debug info gives it (a directory and a name,
/// possibly relative to it), joined and without "." or ".." components.
std::string sourcePath(llvm::StringRef Directory, llvm::StringRef Name);

/// Names and locates F for the table (and for the file/name filters).
FunctionDescription describeFunction(llvm::Function &F);

/// The runtime's thread-local variable Name (`__zinst_context` and the
/// like), declared in M if it is not yet. Initial-exec: the runtime is
/// linked into the executable, which holds the variable; a module compiled
/// for the executable itself (PIE or not PIC) declares it dso_local, so
/// that its code reads it at a constant offset from the thread pointer
/// (local-exec) instead of loading that offset from the GOT first.
llvm::GlobalVariable *runtimeThreadLocal(llvm::Module &M, llvm::StringRef Name, llvm::Type *Ty);

/// Emits the table for Functions (row i describes the function whose hooks
/// pass index i) and for Sites (row i is the site whose counters pass index
/// i), the module descriptor with ModuleFlags (ZINST_MODULE_*), and the
/// ctor/dtor that register it.
/// Returns the module descriptor, the first argument of every hook. Existing
/// tables of M are left alone: a second call adds a second, independent table.
llvm::GlobalVariable *emitModuleTable(llvm::Module &M,
                                      llvm::ArrayRef<FunctionDescription> Functions,
                                      llvm::ArrayRef<SiteDecision> Sites = {},
                                      uint32_t ModuleFlags = 0);

/// Field indices of zinst_module_info in the emitted descriptor.
constexpr unsigned ModuleInfoSiteBaseField = 7;
constexpr unsigned ModuleInfoFunctionIdsField = 11;

} // namespace zinst

#endif // ZINST_PASS_MODULETABLE_H
