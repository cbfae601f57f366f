//===- FunctionInstrumenter.h - entry/exit hooks in every function --------===//
//
// The zinst pass: for each selected function with a body, calls
// __zinst_enter(&module, index) on entry and __zinst_exit(&module, index) on
// every way out, and emits the module's function table (ModuleTable.h).
//
// It runs at the end of the optimization pipeline, so it instruments the
// functions that survive inlining, and hooks inserted by it cannot change
// what the optimizer decided. Running it twice adds nothing: instrumented
// functions carry the "zinst-instrumented" attribute.
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_FUNCTIONINSTRUMENTER_H
#define ZINST_PASS_FUNCTIONINSTRUMENTER_H

#include "Options.h"

#include "llvm/IR/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace zinst {

class FunctionInstrumenterPass : public llvm::PassInfoMixin<FunctionInstrumenterPass> {
public:
  /// Parsed is the result of Options::fromCommandLineAndEnvironment(). A
  /// malformed option is reported when the pass runs, through the module's
  /// LLVMContext, so clang and opt show it as an ordinary error.
  explicit FunctionInstrumenterPass(llvm::Expected<Options> Parsed);

  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &MAM);

  /// Also runs on optnone functions (every function at -O0).
  static bool isRequired() { return true; }

private:
  Options Opts;
  std::string OptionsError; // empty when the options parsed
};

} // namespace zinst

#endif // ZINST_PASS_FUNCTIONINSTRUMENTER_H
