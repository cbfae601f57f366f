//===- InlineDecisionRecorder.cpp - what the inliner decided, and why -----===//
#include "InlineDecisionRecorder.h"
#include "InlineSiteTable.h"
#include "LLVMCompat.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/LazyCallGraph.h"
#include "llvm/Analysis/OptimizationRemarkEmitter.h"
#include "llvm/Analysis/ProfileSummaryInfo.h"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ValueMap.h"
#include "llvm/Support/CommandLine.h"

#include <memory>

using namespace llvm;

namespace zinst {
namespace {

/// Set on sites recorded by AlwaysInlineSiteMarkerPass until
/// resolveAlwaysInlineSites() learns whether the always-inliner inlined
/// them. Never reaches the binary (InlineSiteCounters.cpp clears it).
constexpr uint32_t PendingAlwaysInline = 0x80000000u;

/// LLVM's fallback when the pipeline leaves InlineParams::EnableDeferral
/// unset: the value of its `-inline-deferral` option.
bool defaultDeferral() {
  auto &Registered = cl::getRegisteredOptions();
  auto It = Registered.find("inline-deferral");
  if (It == Registered.end())
    return false;
  if (auto *Opt = static_cast<cl::opt<bool> *>(It->second))
    return Opt->getValue();
  return false;
}

/// Fills Decision from the inline cost the inliner computed for the site.
void describeCost(SiteDecision &Decision, const InlineCost &IC) {
  if (IC.isAlways()) {
    Decision.Flags |= ZINST_SITE_INFO_ALWAYS;
  } else if (IC.isNever()) {
    Decision.Flags |= ZINST_SITE_INFO_NEVER;
  } else {
    Decision.Flags |= ZINST_SITE_INFO_COST;
    Decision.Cost = IC.getCost();
    Decision.Threshold = IC.getThreshold();
  }
  if (const char *Reason = IC.getReason())
    Decision.Reason = Reason;
}

/// The advice handed to the inliner: LLVM's own DefaultInlineAdvice (which
/// emits the usual remarks) wrapped so that the outcome is recorded too.
class RecordingAdvice : public InlineAdvice {
public:
  RecordingAdvice(InlineAdvisor *Advisor, CallBase &CB, OptimizationRemarkEmitter &ORE,
                  std::unique_ptr<InlineAdvice> Default, MDTuple *Site, SiteDecision Decision,
                  CallInst *Marker)
      : InlineAdvice(Advisor, CB, ORE, Default->isInliningRecommended()), Call(&CB),
        Default(std::move(Default)), Site(Site), Decision(std::move(Decision)), Marker(Marker) {}

private:
  void recordInliningImpl() override {
    Default->recordInlining();
    inlined();
  }
  void recordInliningWithCalleeDeletedImpl() override {
    Default->recordInliningWithCalleeDeleted();
    inlined();
  }
  void recordUnsuccessfulInliningImpl(const InlineResult &Result) override {
    Default->recordUnsuccessfulInlining(Result);
    Decision.Flags |= ZINST_SITE_INFO_UNSUCCESSFUL;
    if (const char *Reason = Result.getFailureReason())
      Decision.Reason = Reason;
    notInlined();
  }
  void recordUnattemptedInliningImpl() override {
    Default->recordUnattemptedInlining();
    notInlined();
  }

  /// The call is gone; the marker now stands where the body begins.
  void inlined() {
    Decision.Flags |= ZINST_SITE_INFO_INLINED;
    updateSite(Site, Decision);
  }

  /// The call stays: it carries the site and is counted as a call.
  void notInlined() {
    if (Marker != nullptr)
      Marker->eraseFromParent();
    Decision.Flags &= ~ZINST_SITE_INFO_INLINED;
    updateSite(Site, Decision);
    attachSite(*Call, Site);
  }

  CallBase *Call;
  std::unique_ptr<InlineAdvice> Default;
  MDTuple *Site;
  SiteDecision Decision;
  CallInst *Marker;
};

/// LLVM's DefaultInlineAdvisor, computed the same way, plus recording.
class DecisionRecorder : public InlineAdvisor {
public:
  DecisionRecorder(Module &M, FunctionAnalysisManager &FAM, InlineParams Params, InlineContext IC)
      : InlineAdvisor(M, FAM, IC), Params(Params) {
    // The always-inliner has run: its sites are settled before this
    // inliner's decisions refer to the same calls.
    resolveAlwaysInlineSites(M);
    M.getOrInsertNamedMetadata(InlinerRanName);
  }

private:
  std::unique_ptr<InlineAdvice> getAdviceImpl(CallBase &CB) override {
    // As DefaultInlineAdvisor::getAdviceImpl (llvm/lib/Analysis/InlineAdvisor.cpp).
    Function &Caller = *CB.getCaller();
    Function &Callee = *CB.getCalledFunction();
    ProfileSummaryInfo *PSI = FAM.getResult<ModuleAnalysisManagerFunctionProxy>(Caller)
                                  .getCachedResult<ProfileSummaryAnalysis>(*Caller.getParent());
    auto &ORE = FAM.getResult<OptimizationRemarkEmitterAnalysis>(Caller);
    auto &CalleeTTI = FAM.getResult<TargetIRAnalysis>(Callee);
    std::optional<InlineCost> SiteCost;
    auto GetInlineCost = [&](CallBase &Candidate) {
      Function &CandidateCallee = *Candidate.getCalledFunction();
      auto &CandidateTTI = FAM.getResult<TargetIRAnalysis>(CandidateCallee);
      bool RemarksEnabled =
          CandidateCallee.getContext().getDiagHandlerPtr()->isMissedOptRemarkEnabled("inline");
      InlineCost Cost = compat::getInlineCost(Candidate, Params, CandidateTTI, FAM, PSI,
                                              RemarksEnabled ? &ORE : nullptr);
      // shouldInline asks about this site first, then (deferral) about the
      // caller's own call sites.
      if (&Candidate == &CB && !SiteCost)
        SiteCost = Cost;
      return Cost;
    };
    std::optional<InlineCost> OIC = compat::shouldInline(
        CB, CalleeTTI, GetInlineCost, ORE, Params.EnableDeferral.value_or(defaultDeferral()));

    // The callee's size is counted at every decision, as the callee may
    // have changed since the last one (it is a walk over its body: the
    // larger part of the recording's own time, which is small next to the
    // counters' code generation, see README "Benchmarks").
    SiteDecision Decision =
        describeCall(CB, Callee, describe(Caller), describe(Callee), Callee.getInstructionCount());
    if (SiteCost) {
      describeCost(Decision, *SiteCost);
      if (!OIC && !SiteCost->isNever()) {
        if (*SiteCost) {
          Decision.Flags |= ZINST_SITE_INFO_DEFERRED;
          Decision.Reason = "deferred: inlining the caller into its callers is cheaper";
        } else {
          Decision.Reason = "too costly to inline";
        }
      }
    }
    // A call decided about before (deferred, or revisited after its caller
    // was simplified) keeps its site; a copy of a call (its caller was
    // inlined, or a loop unrolled) is a new site.
    MDTuple *&Site = Sites[&CB];
    if (Site == nullptr)
      Site = createSite(M, Decision);
    else
      updateSite(Site, Decision);
    // The marker goes in only now, after the decision was taken.
    CallInst *Marker = OIC ? insertMarker(CB, Site) : nullptr;
    auto Default = std::make_unique<DefaultInlineAdvice>(this, CB, OIC, ORE);
    return std::make_unique<RecordingAdvice>(this, CB, ORE, std::move(Default), Site,
                                             std::move(Decision), Marker);
  }

  /// An inliner run starts and ends: describe() keeps what it learns in
  /// between.
  void onPassEntry(LazyCallGraph::SCC *) override {
    Descriptions.clear();
    InRun = true;
  }
  void onPassExit(LazyCallGraph::SCC *) override {
    Descriptions.clear();
    InRun = false;
  }

  /// describeFunction(F), once per function and inliner run: a function's
  /// name and debug info stay the same while the inliner runs, and it
  /// deletes functions only after its last decision.
  FunctionDescription describe(Function &F) {
    if (!InRun)
      return describeFunction(F);
    auto [It, Inserted] = Descriptions.try_emplace(&F);
    if (Inserted)
      It->second = describeFunction(F);
    return It->second;
  }

  InlineParams Params;
  bool InRun = false;
  DenseMap<const Function *, FunctionDescription> Descriptions;
  /// The site of each call this advisor decided about; an entry disappears
  /// with its call (ValueMap), so a new call at a recycled address is new.
  ValueMap<const CallBase *, MDTuple *> Sites;
};

/// True for a call the always-inliner will try to inline.
bool isAlwaysInlineCall(const CallBase &CB) {
  const Function *Callee = CB.getCalledFunction();
  if (Callee == nullptr || Callee->isDeclaration() || Callee == CB.getCaller())
    return false;
  return Callee->hasFnAttribute(Attribute::AlwaysInline);
}

} // namespace

InlineAdvisor *createDecisionRecorder(Module &M, FunctionAnalysisManager &FAM, InlineParams Params,
                                      InlineContext IC) {
  if (IC.LTOPhase == ThinOrFullLTOPhase::ThinLTOPreLink ||
      IC.LTOPhase == ThinOrFullLTOPhase::FullLTOPreLink)
    return new DefaultInlineAdvisor(M, FAM, Params, IC);
  return new DecisionRecorder(M, FAM, Params, IC);
}

PreservedAnalyses AlwaysInlineSiteMarkerPass::run(Module &M, ModuleAnalysisManager &) {
  SmallVector<CallBase *, 16> Calls;
  for (Function &F : M) {
    if (F.isDeclaration() || F.getName().starts_with("__zinst"))
      continue;
    for (Instruction &I : instructions(F))
      if (auto *CB = dyn_cast<CallBase>(&I); CB && isAlwaysInlineCall(*CB) && !siteOf(*CB))
        Calls.push_back(CB);
  }
  for (CallBase *CB : Calls) {
    SiteDecision Decision = describeCall(*CB, *CB->getCalledFunction());
    // What the always-inliner's remark says: "(cost=always): always inline
    // attribute".
    Decision.Flags |= ZINST_SITE_INFO_ALWAYS | ZINST_SITE_INFO_INLINED | PendingAlwaysInline;
    Decision.Reason = "always inline attribute";
    MDTuple *Site = createSite(M, Decision);
    attachSite(*CB, Site);
    insertMarker(*CB, Site);
  }
  return Calls.empty() ? PreservedAnalyses::all() : PreservedAnalyses::none();
}

bool resolveAlwaysInlineSites(Module &M) {
  NamedMDNode *List = M.getNamedMetadata(SiteListName);
  if (List == nullptr)
    return false;
  bool Changed = false;
  // Calls still there: not inlined.
  for (Function &F : M) {
    SmallVector<Instruction *, 4> Leftovers;
    for (Instruction &I : instructions(F)) {
      // Markers carry the site too; only the call itself says "still here".
      MDTuple *Site = isa<CallBase>(I) && !isMarker(I) ? siteOf(I) : nullptr;
      if (Site != nullptr && (readSite(Site).Flags & PendingAlwaysInline))
        Leftovers.push_back(&I);
    }
    for (Instruction *Call : Leftovers) {
      MDTuple *Site = siteOf(*Call);
      SiteDecision Decision = readSite(Site);
      Decision.Flags &= ~(PendingAlwaysInline | ZINST_SITE_INFO_INLINED);
      Decision.Flags |= ZINST_SITE_INFO_UNSUCCESSFUL;
      Decision.Reason = "always_inline callee that the always-inliner did not inline";
      updateSite(Site, Decision);
      // Nothing was inlined between marking and now, so the site's markers
      // are in this function.
      uint64_t Id = siteId(Site);
      SmallVector<Instruction *, 2> Markers;
      for (Instruction &I : instructions(F))
        if (isMarker(I) && markerSiteId(I) == Id)
          Markers.push_back(&I);
      for (Instruction *Marker : Markers)
        Marker->eraseFromParent();
      Changed = true;
    }
  }
  // The others were inlined.
  for (MDNode *Node : List->operands()) {
    auto *Site = dyn_cast<MDTuple>(Node);
    if (Site == nullptr)
      continue;
    SiteDecision Decision = readSite(Site);
    if (Decision.Flags & PendingAlwaysInline) {
      Decision.Flags &= ~PendingAlwaysInline;
      updateSite(Site, Decision);
    }
  }
  return Changed;
}

} // namespace zinst
