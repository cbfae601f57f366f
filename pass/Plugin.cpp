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
// Inlining decisions are recorded at PipelineStart (the calls Zig's front end
// inlined, and always_inline calls) and by the inline advisor; PipelineStart
// never runs on the link-time half of LTO, where `inlinedAt` is LLVM's own.
// LTO needs the plugin in the linker too: -Wl,--load-pass-plugin=libzinst.so.
//
//===----------------------------------------------------------------------===//
#include "FrontendInlineSites.h"
#include "FunctionInstrumenter.h"
#include "InlineDecisionRecorder.h"
#include "LLVMCompat.h"
#include "Options.h"

#include "llvm/Support/Compiler.h"

using namespace llvm;

namespace {

void addInstrumenter(ModulePassManager &MPM) {
  MPM.addPass(zinst::FunctionInstrumenterPass(zinst::Options::fromCommandLineAndEnvironment()));
}

/// The off switch also keeps the inline advisor and the always_inline
/// marker out of the pipeline: nothing of zinst's runs. Malformed options
/// are reported by FunctionInstrumenterPass; here they count as "on".
bool zinstDisabled() {
  llvm::Expected<zinst::Options> Parsed = zinst::Options::fromCommandLineAndEnvironment();
  if (!Parsed) {
    llvm::consumeError(Parsed.takeError());
    return false;
  }
  return Parsed->Disabled;
}

void registerCallbacks(PassBuilder &PB) {
  PB.registerPipelineParsingCallback(
      [](StringRef Name, ModulePassManager &MPM, ArrayRef<PassBuilder::PipelineElement>) {
        if (Name == "zinst") {
          addInstrumenter(MPM);
          return true;
        }
        if (Name == "zinst-mark-always-inline") {
          MPM.addPass(zinst::AlwaysInlineSiteMarkerPass());
          return true;
        }
        if (Name == "zinst-frontend-inline-sites") {
          MPM.addPass(zinst::FrontendInlineSitesPass());
          return true;
        }
        return false;
      });
  zinst::compat::registerOptimizerLastEPCallback(
      PB, [](ModulePassManager &MPM, OptimizationLevel, zinst::compat::PipelinePhase Phase) {
        if (Phase != zinst::compat::PipelinePhase::LTOPreLink)
          addInstrumenter(MPM);
      });
  PB.registerFullLinkTimeOptimizationLastEPCallback(
      [](ModulePassManager &MPM, OptimizationLevel) { addInstrumenter(MPM); });
  // Inlining decisions: the plugin's advisor (InlineDecisionRecorder.h)
  // replaces LLVM's default one and decides exactly as it does; always_inline
  // sites are marked before the always-inliner runs, and the bodies Zig's
  // front end inlined before LLVM optimizes them. The registration
  // callbacks run after the command line was parsed, so the off switch is
  // known here.
  if (zinstDisabled())
    return;
  PB.registerAnalysisRegistrationCallback([](ModuleAnalysisManager &MAM) {
    MAM.registerPass([] { return PluginInlineAdvisorAnalysis(zinst::createDecisionRecorder); });
  });
  PB.registerPipelineStartEPCallback([](ModulePassManager &MPM, OptimizationLevel) {
    MPM.addPass(zinst::FrontendInlineSitesPass());
    MPM.addPass(zinst::AlwaysInlineSiteMarkerPass());
  });
}

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK LLVM_ATTRIBUTE_VISIBILITY_DEFAULT PassPluginLibraryInfo
llvmGetPassPluginInfo() {
  return zinst::compat::makePluginInfo("zinst", ZINST_VERSION, registerCallbacks);
}
