//===- LLVMCompat.h - every difference between the supported LLVM majors --===//
//
// zinst builds one plugin per LLVM major from the same sources (19 and 22).
// Everything that differs between those majors lives in this header, so the
// rest of the plugin is written against one API.
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_LLVMCOMPAT_H
#define ZINST_PASS_LLVMCOMPAT_H

#include "llvm/Config/llvm-config.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"

// LLVM 22 moved the plugin interface out of Passes/ (no forwarding header).
#if LLVM_VERSION_MAJOR >= 22
#include "llvm/Plugins/PassPlugin.h"
#else
#include "llvm/Passes/PassPlugin.h"
#endif

#include <functional>

#if LLVM_VERSION_MAJOR != 19 && LLVM_VERSION_MAJOR != 22
#error "zinst supports LLVM 19 and 22; check pass/LLVMCompat.h before adding another major"
#endif

namespace zinst::compat {

/// Where the pipeline that reaches the OptimizerLast extension point runs.
enum class PipelinePhase {
  /// LLVM 19 does not tell: the callback cannot distinguish a ThinLTO
  /// pre-link run from a normal compile, so it must assume either.
  Unknown,
  /// A normal (non-LTO) compile.
  NoLTO,
  /// The compile-time half of a ThinLTO or full LTO build: cross-module
  /// inlining has not happened yet.
  LTOPreLink,
  /// The link-time half of an LTO build.
  LTOPostLink,
};

using OptimizerLastCallback =
    std::function<void(llvm::ModulePassManager &, llvm::OptimizationLevel, PipelinePhase)>;

/// Registers Callback at the OptimizerLast extension point. Since LLVM 20 the
/// extension point reports the LTO phase; LLVM 19 reports PipelinePhase::Unknown.
inline void registerOptimizerLastEPCallback(llvm::PassBuilder &PB, OptimizerLastCallback Callback) {
#if LLVM_VERSION_MAJOR >= 20
  PB.registerOptimizerLastEPCallback([Callback](llvm::ModulePassManager &MPM,
                                                llvm::OptimizationLevel Level,
                                                llvm::ThinOrFullLTOPhase Phase) {
    PipelinePhase Where = PipelinePhase::NoLTO;
    switch (Phase) {
    case llvm::ThinOrFullLTOPhase::None:
      Where = PipelinePhase::NoLTO;
      break;
    case llvm::ThinOrFullLTOPhase::ThinLTOPreLink:
    case llvm::ThinOrFullLTOPhase::FullLTOPreLink:
      Where = PipelinePhase::LTOPreLink;
      break;
    case llvm::ThinOrFullLTOPhase::ThinLTOPostLink:
    case llvm::ThinOrFullLTOPhase::FullLTOPostLink:
      Where = PipelinePhase::LTOPostLink;
      break;
    }
    Callback(MPM, Level, Where);
  });
#else
  PB.registerOptimizerLastEPCallback(
      [Callback](llvm::ModulePassManager &MPM, llvm::OptimizationLevel Level) {
        Callback(MPM, Level, PipelinePhase::Unknown);
      });
#endif
}

/// The plugin descriptor. LLVM 22 (plugin API version 2) appends fields with
/// default initializers; value-initializing first leaves every field this
/// plugin does not use null on both majors.
inline llvm::PassPluginLibraryInfo makePluginInfo(const char *Name, const char *Version,
                                                  void (*Register)(llvm::PassBuilder &)) {
  llvm::PassPluginLibraryInfo Info{};
  Info.APIVersion = LLVM_PLUGIN_API_VERSION;
  Info.PluginName = Name;
  Info.PluginVersion = Version;
  Info.RegisterPassBuilderCallbacks = Register;
  return Info;
}

} // namespace zinst::compat

#endif // ZINST_PASS_LLVMCOMPAT_H
