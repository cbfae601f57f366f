//===- LLVMCompat.h - every difference between the supported LLVM majors --===//
//
// zinst builds one plugin per LLVM major from the same sources (19 and 22).
// Everything that differs between those majors lives in this header, so the
// rest of the plugin is written against one API.
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_LLVMCOMPAT_H
#define ZINST_PASS_LLVMCOMPAT_H

#include "llvm/Analysis/AssumptionCache.h"
#include "llvm/Analysis/BlockFrequencyInfo.h"
#include "llvm/Analysis/InlineAdvisor.h"
#include "llvm/Analysis/InlineCost.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Analysis/TargetTransformInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"

// LLVM 22 moved the plugin interface out of Passes/ (no forwarding header).
#if LLVM_VERSION_MAJOR >= 22
#include "llvm/Plugins/PassPlugin.h"
#else
#include "llvm/Passes/PassPlugin.h"
#endif

#if LLVM_VERSION_MAJOR >= 21
#include "llvm/Analysis/EphemeralValuesCache.h"
#endif

#include <functional>
#include <optional>

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

/// True when M is LTO bitcode (clang flags it "ThinLTO" or
/// "EnableSplitLTOUnit") and this LLVM cannot tell which half of the build
/// runs (LLVM 19, see PipelinePhase::Unknown): the pass may then be running
/// before the link-time inliner has made its decisions.
inline bool mayPrecedeLinkTimeInliner(const llvm::Module &M) {
#if LLVM_VERSION_MAJOR >= 20
  (void)M;
  return false;
#else
  return M.getModuleFlag("ThinLTO") != nullptr || M.getModuleFlag("EnableSplitLTOUnit") != nullptr;
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

/// The declaration of intrinsic ID in M (renamed in LLVM 20).
inline llvm::Function *getIntrinsic(llvm::Module &M, llvm::Intrinsic::ID ID) {
#if LLVM_VERSION_MAJOR >= 20
  return llvm::Intrinsic::getOrInsertDeclaration(&M, ID);
#else
  return llvm::Intrinsic::getDeclaration(&M, ID);
#endif
}

/// llvm::getInlineCost as the default inline advisor calls it. LLVM 21+
/// also takes the ephemeral-values cache the default advisor passes (a
/// cache only: the cost is the same, but using it keeps the analyses the
/// pipeline computes identical to a build without zinst).
inline llvm::InlineCost getInlineCost(llvm::CallBase &CB, const llvm::InlineParams &Params,
                                      llvm::TargetTransformInfo &CalleeTTI,
                                      llvm::FunctionAnalysisManager &FAM,
                                      llvm::ProfileSummaryInfo *PSI,
                                      llvm::OptimizationRemarkEmitter *ORE) {
  auto GetAssumptionCache = [&](llvm::Function &F) -> llvm::AssumptionCache & {
    return FAM.getResult<llvm::AssumptionAnalysis>(F);
  };
  auto GetBFI = [&](llvm::Function &F) -> llvm::BlockFrequencyInfo & {
    return FAM.getResult<llvm::BlockFrequencyAnalysis>(F);
  };
  auto GetTLI = [&](llvm::Function &F) -> const llvm::TargetLibraryInfo & {
    return FAM.getResult<llvm::TargetLibraryAnalysis>(F);
  };
#if LLVM_VERSION_MAJOR >= 21
  auto GetEphValuesCache = [&](llvm::Function &F) -> llvm::EphemeralValuesCache & {
    return FAM.getResult<llvm::EphemeralValuesAnalysis>(F);
  };
  return llvm::getInlineCost(CB, Params, CalleeTTI, GetAssumptionCache, GetTLI, GetBFI, PSI, ORE,
                             GetEphValuesCache);
#else
  return llvm::getInlineCost(CB, Params, CalleeTTI, GetAssumptionCache, GetTLI, GetBFI, PSI, ORE);
#endif
}

/// llvm::shouldInline; LLVM 20 added the callee's TTI as second argument.
inline std::optional<llvm::InlineCost>
shouldInline(llvm::CallBase &CB, llvm::TargetTransformInfo &CalleeTTI,
             llvm::function_ref<llvm::InlineCost(llvm::CallBase &)> GetInlineCost,
             llvm::OptimizationRemarkEmitter &ORE, bool EnableDeferral) {
#if LLVM_VERSION_MAJOR >= 20
  return llvm::shouldInline(CB, CalleeTTI, GetInlineCost, ORE, EnableDeferral);
#else
  (void)CalleeTTI;
  return llvm::shouldInline(CB, GetInlineCost, ORE, EnableDeferral);
#endif
}

} // namespace zinst::compat

#endif // ZINST_PASS_LLVMCOMPAT_H
