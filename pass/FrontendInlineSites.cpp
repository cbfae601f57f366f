//===- FrontendInlineSites.cpp - calls the Zig compiler inlined itself ----===//
#include "FrontendInlineSites.h"
#include "InlineSiteTable.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Demangle/Demangle.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/DiagnosticPrinter.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

#include <string>
#include <utility>
#include <vector>

using namespace llvm;

namespace zinst {
namespace {

/// Named metadata marking a module this pass ran on.
constexpr StringLiteral DoneName = "zinst.frontend.inlines";

constexpr StringLiteral Reason = "inlined by Zig: inline fn or @call(.always_inline)";
constexpr StringLiteral UncountedReason =
    "inlined by Zig: inline fn or @call(.always_inline); not counted: no "
    "instruction of the body runs exactly once per call";

/// One call inlined by the front end: the DISubprogram Zig made for it and
/// the location of the call.
using InstanceKey = std::pair<const DISubprogram *, const DILocation *>;

/// The instances Loc lies in, innermost first.
SmallVector<InstanceKey, 4> instancesOf(const DILocation *Loc) {
  SmallVector<InstanceKey, 4> Chain;
  for (; Loc != nullptr && Loc->getInlinedAt() != nullptr; Loc = Loc->getInlinedAt())
    Chain.push_back({Loc->getScope()->getSubprogram(), Loc->getInlinedAt()});
  return Chain;
}

bool isZigUnit(const DICompileUnit *Unit) {
  return Unit != nullptr && Unit->getProducer().starts_with("zig ");
}

/// Instructions that are no code of their own: debug intrinsics (bitcode in
/// the old debug-info format) and pseudo probes (zinst's markers).
bool isEvent(const Instruction &I) {
  return !I.isDebugOrPseudoInst();
}

/// A warning through the module's LLVMContext (opt and clang print it).
class FrontendInlineWarning : public DiagnosticInfo {
public:
  explicit FrontendInlineWarning(const Twine &Message)
      : DiagnosticInfo(Kind, DS_Warning), Message(Message) {}
  void print(DiagnosticPrinter &DP) const override { DP << Message; }

private:
  static const int Kind;
  const Twine &Message;
};
const int FrontendInlineWarning::Kind = getNextAvailablePluginDiagnosticKind();

/// How the function table would name the function of SP: its linkage name
/// (Zig's `module.decl`), demangled only if it is an Itanium C++ name.
std::pair<std::string, std::string> namesOf(const DISubprogram &SP) {
  StringRef Linkage = SP.getLinkageName();
  if (Linkage.empty())
    Linkage = SP.getName();
  std::string Display = Linkage.starts_with("_Z") ? demangle(Linkage.str()) : Linkage.str();
  return {Display, Linkage.str()};
}

/// An instruction as seen from the instance being placed: part of its body
/// (In), code located elsewhere (Out), or code without a location (None).
enum class Event { None, In, Out };

/// The events of an instruction range, as far as the checks need them.
struct Summary {
  Event First = Event::None, Last = Event::None;
  bool HasOut = false;
  bool OutThenIn = false; // an Out followed, later in the range, by an In
};

/// The instances of one function and the checks that place their markers.
class FunctionInstances {
public:
  explicit FunctionInstances(Function &F) : F(F), DT(F) {
    for (BasicBlock &BB : F) {
      bool Located = false;
      for (Instruction &I : BB) {
        if (!isEvent(I))
          continue;
        const DILocation *Loc = I.getDebugLoc().get();
        Located |= Loc != nullptr;
        for (const InstanceKey &Key : instancesOf(Loc)) {
          auto [It, Inserted] = Index.try_emplace(Key, static_cast<unsigned>(Instances.size()));
          if (Inserted)
            Instances.emplace_back();
          Instances[It->second].push_back(&I);
          Membership[&I].push_back(It->second);
        }
      }
      if (Located)
        LocatedBlocks.insert(&BB);
    }
  }

  unsigned size() const { return static_cast<unsigned>(Instances.size()); }
  const InstanceKey &key(unsigned K) const { return Index.begin()[K].first; }
  unsigned instructionCount(unsigned K) const { return static_cast<unsigned>(Instances[K].size()); }

  /// The instruction before which instance K's marker goes, or null when no
  /// instruction runs exactly once per entry of the inlined body.
  Instruction *entryOf(unsigned K) {
    Current = K;
    InSummaries.clear();
    // The block dominating every block of the instance that can run.
    BasicBlock *D = nullptr;
    for (Instruction *I : Instances[K]) {
      BasicBlock *BB = I->getParent();
      if (!DT.isReachableFromEntry(BB))
        continue;
      D = D == nullptr ? BB : DT.findNearestCommonDominator(D, BB);
      InSummaries.try_emplace(BB);
    }
    if (D == nullptr)
      return nullptr;
    Instruction *Entry = nullptr;
    for (Instruction &I : *D)
      if (isEvent(I) && classify(I) == Event::In) {
        Entry = &I;
        break;
      }
    if (Entry == nullptr || Entry->isEHPad())
      return nullptr;
    for (auto &[BB, S] : InSummaries)
      S = summarize(BB->begin(), BB->end());
    Before = summarize(D->begin(), Entry->getIterator());
    After = summarize(std::next(Entry->getIterator()), D->end());
    // After the entry, D's Out-then-In would be a re-entry that skips it.
    Summary FromEntry = summarize(Entry->getIterator(), D->end());
    if (FromEntry.OutThenIn)
      return nullptr;
    InSummaries[D] = FromEntry;
    if (!runsOncePerEntry(D) || !everyEntryPasses(D))
      return nullptr;
    // Only PHIs stand between a PHI and the block's first insertion point:
    // a marker there runs exactly as often.
    if (isa<PHINode>(Entry))
      return &*D->getFirstInsertionPt();
    return Entry;
  }

private:
  Event classify(const Instruction &I) const {
    auto It = Membership.find(&I);
    if (It != Membership.end() && is_contained(It->second, Current))
      return Event::In;
    return I.getDebugLoc() ? Event::Out : Event::None;
  }

  Summary summarize(BasicBlock::iterator Begin, BasicBlock::iterator End) const {
    Summary S;
    for (auto It = Begin; It != End; ++It) {
      if (!isEvent(*It))
        continue;
      Event E = classify(*It);
      if (E == Event::None)
        continue;
      if (S.First == Event::None)
        S.First = E;
      S.Last = E;
      if (E == Event::Out)
        S.HasOut = true;
      else if (S.HasOut)
        S.OutThenIn = true;
    }
    return S;
  }

  /// A block's summary: computed for the instance's blocks, else Out for
  /// a block with any located instruction (none of it lies in the
  /// instance), None for a block without any.
  Summary summaryOf(BasicBlock *BB) const {
    if (auto It = InSummaries.find(BB); It != InSummaries.end())
      return It->second;
    Summary S;
    if (LocatedBlocks.contains(BB)) {
      S.First = S.Last = Event::Out;
      S.HasOut = true;
    }
    return S;
  }

  /// No path leads from the entry back to it without leaving the instance
  /// (an instruction located outside it) on the way: a loop at the start
  /// of the inlined body would fail here.
  bool runsOncePerEntry(BasicBlock *D) const {
    if (After.HasOut)
      return true;
    SmallVector<BasicBlock *, 16> Work(succ_begin(D), succ_end(D));
    SmallPtrSet<BasicBlock *, 32> Seen;
    while (!Work.empty()) {
      BasicBlock *BB = Work.pop_back_val();
      if (!Seen.insert(BB).second)
        continue;
      if (BB == D) {
        if (Before.HasOut)
          continue;
        return false; // back at the entry, still inside
      }
      if (summaryOf(BB).HasOut)
        continue;
      Work.append(succ_begin(BB), succ_end(BB));
    }
    return true;
  }

  /// No instruction of the instance runs, after the function's start or an
  /// instruction outside the instance, before the entry has run.
  bool everyEntryPasses(BasicBlock *D) const {
    for (auto &[BB, S] : InSummaries)
      if (BB != D && S.OutThenIn)
        return false;
    // Blocks reached from outside the instance, at their top.
    SmallVector<BasicBlock *, 16> Work;
    Work.push_back(&F.getEntryBlock());
    for (BasicBlock &BB : F)
      if (DT.isReachableFromEntry(&BB) && summaryOf(&BB).Last == Event::Out)
        Work.append(succ_begin(&BB), succ_end(&BB));
    SmallPtrSet<BasicBlock *, 32> Seen;
    while (!Work.empty()) {
      BasicBlock *BB = Work.pop_back_val();
      if (!Seen.insert(BB).second || BB == D) // D: its entry comes first
        continue;
      Summary S = summaryOf(BB);
      if (S.First == Event::In)
        return false;
      if (S.First == Event::None)
        Work.append(succ_begin(BB), succ_end(BB));
    }
    return true;
  }

  Function &F;
  DominatorTree DT;
  MapVector<InstanceKey, unsigned> Index;
  std::vector<std::vector<Instruction *>> Instances; // in function order
  DenseMap<const Instruction *, SmallVector<unsigned, 2>> Membership;
  SmallPtrSet<const BasicBlock *, 32> LocatedBlocks;
  // The instance being placed by entryOf, and its blocks' summaries.
  unsigned Current = 0;
  DenseMap<BasicBlock *, Summary> InSummaries;
  Summary Before, After; // D before the entry, D after it
};

/// True if F already holds zinst's sites or hooks (a module that went
/// through the pipeline once): its inlinedAt may come from LLVM's inliner.
bool alreadyHandled(Function &F) {
  if (F.hasFnAttribute("zinst-instrumented"))
    return true;
  for (Instruction &I : instructions(F))
    if (isMarker(I) || siteOf(I) != nullptr)
      return true;
  return false;
}

/// The functions to look at: Zig's, with a body, not zinst's.
std::vector<Function *> zigFunctions(Module &M) {
  std::vector<Function *> Result;
  for (Function &F : M) {
    if (F.isDeclaration() || F.getName().starts_with("__zinst"))
      continue;
    const DISubprogram *SP = F.getSubprogram();
    if (SP == nullptr || !isZigUnit(SP->getUnit()) || alreadyHandled(F))
      continue;
    Result.push_back(&F);
  }
  return Result;
}

/// LLVM's inliner shares the callee's DISubprogram between the places it
/// inlined it into (and leaves it attached to the callee while the callee
/// lives); Zig makes one per inlined call. Returns an example of a shared
/// one, or null.
const DISubprogram *sharedInlinedScope(Module &M, const std::vector<Function *> &Functions) {
  DenseSet<const DISubprogram *> Attached;
  for (Function &F : M)
    if (const DISubprogram *SP = F.getSubprogram())
      Attached.insert(SP);
  DenseMap<const DISubprogram *, const DILocation *> CallOf;
  for (Function *F : Functions)
    for (Instruction &I : instructions(*F))
      for (const auto &[SP, Call] : instancesOf(I.getDebugLoc().get())) {
        if (Attached.contains(SP))
          return SP;
        auto [It, Inserted] = CallOf.try_emplace(SP, Call);
        if (!Inserted && It->second != Call)
          return SP;
      }
  return nullptr;
}

/// The site of instance Key in F.
SiteDecision describeInstance(Function &F, const InstanceKey &Key, unsigned Instructions) {
  const auto &[Callee, Call] = Key;
  SiteDecision D;
  if (Call->getInlinedAt() == nullptr) {
    // Called from F itself.
    FunctionDescription Caller = describeFunction(F);
    D.Caller = Caller.DisplayName;
    D.CallerLinkage = F.getName().str();
  } else {
    // Called from the body of another inlined call.
    std::tie(D.Caller, D.CallerLinkage) = namesOf(*Call->getScope()->getSubprogram());
  }
  std::tie(D.Callee, D.CalleeLinkage) = namesOf(*Callee);
  D.File = sourcePath(Call->getDirectory(), Call->getFilename());
  D.CalleeFile = sourcePath(Callee->getDirectory(), Callee->getFilename());
  D.Line = Call->getLine();
  D.Column = Call->getColumn();
  D.Flags = ZINST_SITE_INFO_INLINED | ZINST_SITE_INFO_ALWAYS | ZINST_SITE_INFO_DEBUG;
  D.CalleeInstructions = Instructions;
  return D;
}

} // namespace

PreservedAnalyses FrontendInlineSitesPass::run(Module &M, ModuleAnalysisManager &) {
  if (M.getNamedMetadata(DoneName) != nullptr)
    return PreservedAnalyses::all();
  std::vector<Function *> Functions = zigFunctions(M);
  if (Functions.empty())
    return PreservedAnalyses::all();
  M.getOrInsertNamedMetadata(DoneName);

  if (const DISubprogram *Shared = sharedInlinedScope(M, Functions)) {
    std::string Message =
        "zinst: " + M.getModuleIdentifier() +
        " was optimized by LLVM before zinst saw it (LLVM inlined '" + Shared->getName().str() +
        "'): the calls Zig inlined itself (inline fn, @call(.always_inline)) cannot be told "
        "from LLVM's and are not recorded; give zinst Zig's unoptimized bitcode "
        "(zig build-exe --verbose-llvm-bc=FILE, as `zinst zig build-exe` does)";
    M.getContext().diagnose(FrontendInlineWarning(Message));
    return PreservedAnalyses::none();
  }

  for (Function *F : Functions) {
    FunctionInstances Instances(*F);
    // Every entry is found before any marker goes in.
    std::vector<std::pair<unsigned, Instruction *>> Placed;
    for (unsigned K = 0; K < Instances.size(); ++K) {
      // zinst's own Zig API (zig-integration/zinst.zig) stays invisible.
      if (StringRef(namesOf(*Instances.key(K).first).second).starts_with("zinst."))
        continue;
      Placed.push_back({K, Instances.entryOf(K)});
    }
    for (const auto &[K, Entry] : Placed) {
      SiteDecision Decision = describeInstance(*F, Instances.key(K), Instances.instructionCount(K));
      Decision.Reason = (Entry != nullptr ? Reason : UncountedReason).str();
      MDTuple *Site = createSite(M, Decision);
      if (Entry != nullptr)
        insertMarker(*Entry, Site);
    }
  }
  return PreservedAnalyses::none();
}

} // namespace zinst
