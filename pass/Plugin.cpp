//===- Plugin.cpp - registers the zinst pass with the new pass manager ----===//
//
// Where the pass runs:
//  - OptimizerLast: after inlining, in every -O level (at -O0 too: the pass is
//    required, so optnone does not skip it). With LLVM 20+, not in the
//    pre-link half of an LTO build: the link-time run instruments the
//    functions that survive cross-module inlining. LLVM 19 cannot tell the
//    phases apart; both ThinLTO halves run it and the second finds every
//    function already instrumented.
//  - FullLinkTimeOptimizationLast: the end of the full-LTO link-time pipeline.
//  - `opt -passes=zinst`.
// LTO needs the plugin in the linker too: -Wl,--load-pass-plugin=libzinst.so.
//
//===----------------------------------------------------------------------===//
#include "FunctionInstrumenter.h"
#include "LLVMCompat.h"
#include "Options.h"

#include "llvm/Support/Compiler.h"

using namespace llvm;

namespace {

void addInstrumenter(ModulePassManager &MPM) {
  MPM.addPass(zinst::FunctionInstrumenterPass(zinst::Options::fromCommandLineAndEnvironment()));
}

void registerCallbacks(PassBuilder &PB) {
  PB.registerPipelineParsingCallback(
      [](StringRef Name, ModulePassManager &MPM, ArrayRef<PassBuilder::PipelineElement>) {
        if (Name != "zinst")
          return false;
        addInstrumenter(MPM);
        return true;
      });
  zinst::compat::registerOptimizerLastEPCallback(
      PB, [](ModulePassManager &MPM, OptimizationLevel, zinst::compat::PipelinePhase Phase) {
        if (Phase != zinst::compat::PipelinePhase::LTOPreLink)
          addInstrumenter(MPM);
      });
  PB.registerFullLinkTimeOptimizationLastEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel) { addInstrumenter(MPM); });
}

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK LLVM_ATTRIBUTE_VISIBILITY_DEFAULT PassPluginLibraryInfo
llvmGetPassPluginInfo() {
  return zinst::compat::makePluginInfo("zinst", ZINST_VERSION, registerCallbacks);
}
