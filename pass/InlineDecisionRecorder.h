//===- InlineDecisionRecorder.h - what the inliner decided, and why -------===//
//
// Two sources of decisions:
//
//  - The inliner (`inline`, CGSCC): the plugin installs its own inline
//    advisor through PluginInlineAdvisorAnalysis. It computes exactly what
//    LLVM's DefaultInlineAdvisor computes (getInlineCost + shouldInline with
//    the pipeline's InlineParams) and lets a DefaultInlineAdvice built from
//    that answer do the remarks, so clang's -Rpass=inline output and the
//    decisions themselves are unchanged (test/lit/inline-decisions.ll). It
//    records every decision and, only once a site is to be inlined, puts a
//    marker (InlineSiteTable.h) before the call: the marker exists after the
//    decision, so it cannot influence it.
//
//  - The always-inliner (`always-inline`, a module pass that runs before the
//    inliner and asks no advisor): AlwaysInlineSiteMarkerPass, at the
//    PipelineStart extension point, records each direct call to an
//    always_inline definition as inlined by that rule and marks it. Calls the
//    always-inliner could not inline are found afterwards, still tagged, by
//    resolveAlwaysInlineSites(), which turns them into "not inlined" sites.
//
// With the zinst off switch the plugin registers no advisor and no marker
// pass at all (Plugin.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_INLINEDECISIONRECORDER_H
#define ZINST_PASS_INLINEDECISIONRECORDER_H

#include "llvm/Analysis/InlineAdvisor.h"
#include "llvm/IR/PassManager.h"

namespace zinst {

/// The PluginInlineAdvisorAnalysis factory. The returned advisor is owned by
/// the caller (LLVM's InlineAdvisorAnalysis). In the pre-link half of an LTO
/// build it returns LLVM's DefaultInlineAdvisor: decisions are recorded by
/// the link-time inliner, whose markers are the ones lowered (see README,
/// "Known limits").
llvm::InlineAdvisor *createDecisionRecorder(llvm::Module &M, llvm::FunctionAnalysisManager &FAM,
                                            llvm::InlineParams Params, llvm::InlineContext IC);

/// PipelineStart: records and marks the call sites of always_inline
/// definitions before the always-inliner removes them.
class AlwaysInlineSiteMarkerPass : public llvm::PassInfoMixin<AlwaysInlineSiteMarkerPass> {
public:
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &MAM);
  /// At -O0 every function is optnone, and the always-inliner still runs.
  static bool isRequired() { return true; }
};

/// Settles the sites marked by AlwaysInlineSiteMarkerPass once the
/// always-inliner has run: a marked call that is still there was not
/// inlined (its markers are removed and the call keeps the site, counted as
/// a call); the others were. Idempotent. Returns true if the IR changed.
bool resolveAlwaysInlineSites(llvm::Module &M);

} // namespace zinst

#endif // ZINST_PASS_INLINEDECISIONRECORDER_H
