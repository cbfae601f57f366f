//===- InlineSiteCounters.cpp - per-site counters at the end of the pipeline ===//
#include "InlineSiteCounters.h"
#include "InlineDecisionRecorder.h"
#include "InlineSiteTable.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"

#include <map>
#include <vector>

using namespace llvm;

namespace zinst {
namespace {

/// Clears the bits only the pass itself uses (see InlineDecisionRecorder.cpp).
constexpr uint32_t PublicSiteFlags = 0xFFFFu;

struct CounterRuntime {
  GlobalVariable *Counters; // __zinst_site_counters, initial-exec TLS
  FunctionCallee SlowPath;  // __zinst_site_counters_slow
  bool UseThunk;            // the target has preserve_most (see slowPathThunk)
  /// The module's own way to the slow path, made by the first function
  /// that needs it (most have entry code and need none).
  Function *SlowThunk = nullptr;
};

/// `ptr __zinst_site_counters_thunk()`, internal, preserve_most: returns
/// __zinst_site_counters_slow(ModuleInfo). A function's slow path calls it
/// instead: a call that clobbers (almost) no register spares the register
/// allocator the work a C call in every instrumented function's entry would
/// cost it. The extra call costs nothing that matters: the slow path runs
/// at a thread's first events only.
Function *slowPathThunk(Module &M, GlobalVariable *ModuleInfo, FunctionCallee SlowPath) {
  LLVMContext &Ctx = M.getContext();
  Type *PtrTy = PointerType::getUnqual(Ctx);
  // The module's frame-pointer and unwind-table defaults, so that the thunk
  // unwinds like the code around it.
  Function *Thunk = Function::createWithDefaultAttr(
      FunctionType::get(PtrTy, {}, /*isVarArg=*/false), GlobalValue::InternalLinkage,
      M.getDataLayout().getProgramAddressSpace(), "__zinst_site_counters_thunk", &M);
  Thunk->setCallingConv(CallingConv::PreserveMost);
  Thunk->addFnAttr(Attribute::NoUnwind);
  Thunk->addFnAttr(Attribute::NoInline);
  Thunk->addFnAttr(Attribute::Cold);
  IRBuilder<> B(BasicBlock::Create(Ctx, "entry", Thunk));
  B.CreateRet(B.CreateCall(SlowPath, {ModuleInfo}));
  return Thunk;
}

CounterRuntime declareRuntime(Module &M) {
  LLVMContext &Ctx = M.getContext();
  auto *PtrTy = PointerType::getUnqual(Ctx);
  GlobalVariable *Counters = runtimeThreadLocal(M, "__zinst_site_counters", PtrTy);
  AttributeList Attrs =
      AttributeList::get(Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind, Attribute::Cold});
  FunctionCallee Slow = M.getOrInsertFunction("__zinst_site_counters_slow",
                                              FunctionType::get(PtrTy, {PtrTy}, false), Attrs);
  return {Counters, Slow, targetHasPreserveMost(M)};
}

/// Line 0 in F's scope: compiler-generated code, as the verifier wants for
/// calls in functions with debug info.
DebugLoc generatedLocation(Function &F) {
  if (DISubprogram *SP = F.getSubprogram())
    return DILocation::get(F.getContext(), 0, 0, SP);
  return DebugLoc();
}

/// Emits right before At (siteCountersPlace: never above F's own code,
/// which starts after its static allocas, a split above them would make
/// them dynamic, and after the hooks or the inline context code), the
/// address of this thread's counter of the module's site 0, and returns it:
///
///   counters = __zinst_site_counters; base = module.site_base;
///   sites = counters ? counters + base : __zinst_site_counters_slow(&module)
///
/// or, where F's entry code (EntryCodeFirst: the hooks or the inline context
/// code, which dominate At) ran before, `sites = counters + base`: after
/// entry code the runtime never leaves the pointer NULL (zinst_abi.h). That
/// saves a test and a block per function; only count-only functions, whose
/// entry counter is all their instrumentation, keep them.
///
/// At most once per call of F, not once per site: every site of F is then one
/// increment at a constant offset. Safe because the thread's array never
/// moves (only thread exit retires it, and no frame of the exiting thread
/// resumes after that). site_base is 0 for a module that is not registered
/// yet, or whose sites got no counters (too many in the process): its
/// counts go to the sink, the array's first ZINST_MAX_MODULE_SITES slots.
/// An instrumented function's hooks or context code, which run before, have
/// registered its module already; only code that runs before its module's
/// constructor, in a thread that ran instrumented code before, counts in
/// the sink without them.
Value *emitSiteCountersAddress(Instruction *At, GlobalVariable *ModuleInfo, CounterRuntime &RT,
                               bool EntryCodeFirst) {
  Function &F = *At->getFunction();
  LLVMContext &Ctx = F.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  Type *I64Ty = Type::getInt64Ty(Ctx);
  Type *PtrTy = PointerType::getUnqual(Ctx);
  DebugLoc Loc = generatedLocation(F);
  IRBuilder<> B(At);
  B.SetCurrentDebugLocation(Loc);
  Value *Counters = B.CreateLoad(PtrTy, B.CreateThreadLocalAddress(RT.Counters), "zinst.counters");
  Value *BaseField = B.CreateStructGEP(ModuleInfo->getValueType(), ModuleInfo,
                                       ModuleInfoSiteBaseField, "zinst.site_base.addr");
  Value *Base = B.CreateLoad(I32Ty, BaseField, "zinst.site_base");
  if (EntryCodeFirst)
    return B.CreateGEP(I64Ty, Counters, B.CreateZExt(Base, I64Ty), "zinst.sites");
  Value *Missing = B.CreateIsNull(Counters, "zinst.no_counters");
  Value *Fast = B.CreateGEP(I64Ty, Counters, B.CreateZExt(Base, I64Ty), "zinst.sites.fast");
  BasicBlock *Head = At->getParent();
  MDNode *Weights = MDBuilder(Ctx).createBranchWeights(1, 1u << 20);
  Instruction *ThenTerm = SplitBlockAndInsertIfThen(Missing, At->getIterator(), false, Weights);
  IRBuilder<> SlowB(ThenTerm);
  SlowB.SetCurrentDebugLocation(Loc);
  if (RT.UseThunk && RT.SlowThunk == nullptr)
    RT.SlowThunk = slowPathThunk(*F.getParent(), ModuleInfo, RT.SlowPath);
  CallInst *Slow = RT.SlowThunk != nullptr ? SlowB.CreateCall(RT.SlowThunk, {})
                                           : SlowB.CreateCall(RT.SlowPath, {ModuleInfo});
  if (RT.SlowThunk != nullptr)
    Slow->setCallingConv(RT.SlowThunk->getCallingConv());
  IRBuilder<> JoinB(At->getParent(), At->getParent()->begin());
  PHINode *Sites = JoinB.CreatePHI(PtrTy, 2, "zinst.sites");
  Sites->addIncoming(Fast, Head);
  Sites->addIncoming(Slow, ThenTerm->getParent());
  return Sites;
}

/// Where F computes the address of its counters (emitSiteCountersAddress):
/// at the start of the nearest block that dominates all of Places, moved
/// out of any loop it is in. So a function whose sites are all in a cold
/// branch pays nothing on its common path, and a loop never computes it
/// again at each iteration. BodyStart (where F's own code starts, after the
/// instrumentation's entry code) when that block holds it or lies above it.
Instruction *siteCountersPlace(Function &F, ArrayRef<Instruction *> Places,
                               Instruction *BodyStart) {
  DominatorTree DT(F);
  LoopInfo LI(DT);
  BasicBlock *Common = nullptr;
  for (Instruction *Place : Places) {
    BasicBlock *BB = Place->getParent();
    Common = Common == nullptr ? BB : DT.findNearestCommonDominator(Common, BB);
  }
  // Out of loops, and off a block that takes no code of ours (a funclet
  // pad: not on Linux, but a dominator above it always does).
  for (;;) {
    if (Loop *L = LI.getLoopFor(Common))
      Common = DT.getNode(L->getHeader())->getIDom()->getBlock();
    else if (Common->isEHPad() && !Common->isLandingPad())
      Common = DT.getNode(Common)->getIDom()->getBlock();
    else
      break;
  }
  if (DT.dominates(Common, BodyStart->getParent()))
    return BodyStart;
  return &*Common->getFirstInsertionPt();
}

/// Emits, right before At, the increment of the site Index's counter.
void emitIncrement(Instruction *At, Value *Sites, uint32_t Index) {
  Function &F = *At->getFunction();
  Type *I64Ty = Type::getInt64Ty(F.getContext());
  IRBuilder<> B(At);
  B.SetCurrentDebugLocation(generatedLocation(F));
  Value *Counter = B.CreateConstInBoundsGEP1_64(I64Ty, Sites, Index, "zinst.counter");
  Value *Count = B.CreateLoad(I64Ty, Counter);
  B.CreateStore(B.CreateAdd(Count, ConstantInt::get(I64Ty, 1)), Counter);
}

/// A direct call of a function defined elsewhere (another translation unit,
/// a library): the inliner skips it without asking the advisor ("will not
/// be inlined ... because its definition is unavailable"), yet it is often
/// the hottest call there is. Intrinsics, inline assembly and zinst's own
/// functions (the hooks, and the API of include/zinst.h that the program
/// calls itself) are not calls a user could inline.
bool isCallWithoutDefinition(const CallBase &Call) {
  const Function *Callee = Call.getCalledFunction();
  if (Callee == nullptr || !Callee->isDeclaration() || Callee->isIntrinsic())
    return false;
  StringRef Name = Callee->getName();
  bool IsZinstApi = Name.starts_with("zinst_zone_") || Name == "zinst_dump" ||
                    Name == "zinst_reset" || Name == "zinst_disable_exit_dump";
  return !Name.starts_with("__zinst") && !IsZinstApi;
}

/// The first instruction of F's entry block that is not a static alloca,
/// where code can go without making an alloca dynamic. A marker or a debug
/// record there counts: unlike getFirstNonPHIOrDbgOrAlloca, this never
/// skips a pseudo probe, which would leave that marker's site above it.
Instruction *firstAfterAllocas(Function &F) {
  for (Instruction &I : F.getEntryBlock())
    if (!isa<AllocaInst>(I))
      return &I;
  llvm_unreachable("a basic block ends with its terminator");
}

/// True for an intrinsic that never becomes a call of a function: one that
/// only informs the optimizer, or integer and address arithmetic. (Others,
/// such as memcpy or pow, may become a call of a function of that name,
/// which the program may define.)
bool neverCalls(const IntrinsicInst &II) {
  if (II.isAssumeLikeIntrinsic())
    return true;
  switch (II.getIntrinsicID()) {
  case Intrinsic::abs:
  case Intrinsic::smax:
  case Intrinsic::smin:
  case Intrinsic::umax:
  case Intrinsic::umin:
  case Intrinsic::ctlz:
  case Intrinsic::cttz:
  case Intrinsic::ctpop:
  case Intrinsic::bswap:
  case Intrinsic::bitreverse:
  case Intrinsic::fshl:
  case Intrinsic::fshr:
  case Intrinsic::sadd_with_overflow:
  case Intrinsic::uadd_with_overflow:
  case Intrinsic::ssub_with_overflow:
  case Intrinsic::usub_with_overflow:
  case Intrinsic::smul_with_overflow:
  case Intrinsic::umul_with_overflow:
  case Intrinsic::sadd_sat:
  case Intrinsic::uadd_sat:
  case Intrinsic::ssub_sat:
  case Intrinsic::usub_sat:
  case Intrinsic::expect:
  case Intrinsic::threadlocal_address:
  case Intrinsic::frameaddress:
  case Intrinsic::returnaddress:
  case Intrinsic::addressofreturnaddress:
  case Intrinsic::sponentry:
  case Intrinsic::prefetch:
  case Intrinsic::fabs:
  case Intrinsic::copysign:
    return true;
  default:
    return false;
  }
}

/// True if the calls of Fn in this module run this module's Fn: not a copy
/// another module's the linker may pick instead (linkonce, weak), nor a
/// definition the dynamic linker may interpose (not dso_local: a shared
/// library's default-visibility function).
bool bindsHere(const Function &Fn) {
  return Fn.hasLocalLinkage() || (Fn.isDSOLocal() && Fn.hasExactDefinition());
}

/// Which call sites countFromTree may leave to the tree. Each function's
/// calls are read once (reach(), summary()), so that the rules cost a lookup
/// per site, not a walk of its caller.
///
/// A site of a call Call in F of Callee counts from the tree if, while F
/// runs with its own context current, no context of Callee can begin under
/// it but through Call: then the calls of Callee's contexts under F's are
/// exactly Call's. Instrumented functions have entry code, which makes
/// their own context current first thing. Other ways in, each ruled out:
///  - another call of Callee in F (each site would get the other's calls);
///  - a call in F of code that is not instrumented, which could call Callee
///    (directly, through a pointer, or back from a library) in F's context;
///    unless Callee cannot be reached from there: local to the module, its
///    address never taken, and all its callers instrumented;
///  - an instrumented function calling Callee: only after its own context
///    became current, so never under F's; unless the linker or the dynamic
///    linker may run another copy of it, or of Callee, which may not be
///    instrumented or not be this module's (bindsHere);
///  - a call where F's frame ends (a sibling call, FunctionInstrumenter.cpp's
///    frameEndBefore): F's context ends before it, so Callee counts under
///    F's caller;
///  - a sibling call of an instrumented function that F calls, Callee
///    included: its target runs in F's context (reach()).
/// A signal handler outside instrumented code that calls Callee while F runs
/// would count in the tree and not at the site (README, Known limits).
class TreeCountRules {
public:
  TreeCountRules(const DenseMap<const Function *, uint32_t> &Instrumented,
                 const SmallPtrSetImpl<const Instruction *> &ExitPoints)
      : Instrumented(Instrumented), ExitPoints(ExitPoints) {
    for (const Instruction *End : ExitPoints)
      if (const auto *Sibling = dyn_cast<CallBase>(End))
        SiblingCalls[Sibling->getFunction()].push_back(Sibling);
  }

  bool countsFromTree(const CallBase &Call, const Function &Callee) {
    const Function &F = *Call.getFunction();
    if (ExitPoints.contains(&Call) || !bindsHere(Callee))
      return false;
    for (const User *U : Callee.users())
      if (const auto *Other = dyn_cast<CallBase>(U);
          Other != nullptr && Other != &Call && Other->getFunction() == &F)
        return false;
    if (Callee.hasLocalLinkage() && !Callee.hasAddressTaken()) {
      // Every use is then a call of it: each from an instrumented function,
      // in that function's own context (no sibling call).
      for (const User *U : Callee.users())
        if (const auto *Caller = dyn_cast<CallBase>(U);
            Caller == nullptr || !Instrumented.count(Caller->getFunction()) ||
            ExitPoints.contains(Caller))
          return false;
      return true;
    }
    const Reached &InF = summary(F);
    return !InF.Unknown && !InF.Functions.contains(&Callee);
  }

private:
  /// What runs in some function's context besides its own code: the
  /// instrumented functions, and whether any code that is not.
  struct Reached {
    bool Unknown = false;
    SmallPtrSet<const Function *, 4> Functions;
  };

  /// What the sibling calls of H, and of their targets, and so on, run in
  /// the context of H's caller.
  const Reached &reach(const Function &H) {
    auto [It, Inserted] = ReachOf.try_emplace(&H);
    if (!Inserted)
      return It->second;
    Reached Result;
    SmallVector<const Function *, 4> Work = {&H};
    SmallPtrSet<const Function *, 8> Seen = {&H};
    while (!Work.empty()) {
      auto Found = SiblingCalls.find(Work.pop_back_val());
      if (Found == SiblingCalls.end())
        continue;
      for (const CallBase *Sibling : Found->second) {
        const Function *Target = Sibling->getCalledFunction();
        if (Target == nullptr || !Instrumented.count(Target) || !bindsHere(*Target)) {
          Result.Unknown = true;
          continue;
        }
        Result.Functions.insert(Target);
        if (Seen.insert(Target).second)
          Work.push_back(Target);
      }
    }
    It->second = std::move(Result);
    return It->second;
  }

  /// What F's calls run in F's context: code that is not instrumented, or
  /// the sibling calls' targets of the instrumented functions it calls.
  const Reached &summary(const Function &F) {
    auto [It, Inserted] = SummaryOf.try_emplace(&F);
    if (!Inserted)
      return It->second;
    Reached Result;
    for (const BasicBlock &BB : F)
      for (const Instruction &I : BB) {
        const auto *Call = dyn_cast<CallBase>(&I);
        if (Call == nullptr)
          continue;
        if (const auto *II = dyn_cast<IntrinsicInst>(Call)) {
          Result.Unknown |= !neverCalls(*II);
          continue;
        }
        const Function *Target = Call->getCalledFunction();
        if (Target == nullptr || !Instrumented.count(Target) || !bindsHere(*Target)) {
          Result.Unknown = true;
          continue;
        }
        if (ExitPoints.contains(Call))
          continue; // runs in F's caller's context
        const Reached &Sibling = reach(*Target);
        Result.Unknown |= Sibling.Unknown;
        Result.Functions.insert(Sibling.Functions.begin(), Sibling.Functions.end());
      }
    // reach() adds to ReachOf only: It is still valid.
    It->second = std::move(Result);
    return It->second;
  }

  const DenseMap<const Function *, uint32_t> &Instrumented;
  const SmallPtrSetImpl<const Instruction *> &ExitPoints;
  DenseMap<const Function *, SmallVector<const CallBase *, 2>> SiblingCalls;
  DenseMap<const Function *, Reached> ReachOf, SummaryOf;
};

SiteDecision describeCallWithoutDefinition(CallBase &Call) {
  SiteDecision Decision = describeCall(Call, *Call.getCalledFunction());
  Decision.Reason = "definition unavailable";
  return Decision;
}

} // namespace

InlineSiteLowering::InlineSiteLowering(Module &M) : M(M) {
  Changed = resolveAlwaysInlineSites(M);
  NamedMDNode *List = M.getNamedMetadata(SiteListName);

  // The table: every site of the module's list, then sites only reached
  // through attachments (functions imported by ThinLTO bring their own).
  std::vector<MDTuple *> Sites;
  DenseMap<uint64_t, uint32_t> RowOfId;
  auto AddSite = [&](MDTuple *Site) {
    auto [It, Inserted] = RowOfId.try_emplace(siteId(Site), static_cast<uint32_t>(Sites.size()));
    if (Inserted)
      Sites.push_back(Site);
    return It->second;
  };
  if (List != nullptr)
    for (MDNode *Node : List->operands())
      if (auto *Site = dyn_cast<MDTuple>(Node))
        AddSite(Site);

  NamedMDNode *InlinerRan = M.getNamedMetadata(InlinerRanName);
  std::vector<Instruction *> Orphans; // markers whose site is unknown
  for (Function &F : M) {
    if (F.isDeclaration() || F.getName().starts_with("__zinst"))
      continue;
    for (Instruction &I : instructions(F)) {
      if (isMarker(I)) {
        // A pass that merged two copies of a marker may have dropped the
        // attachment; the id in the probe's index still names the site.
        MDTuple *Site = siteOf(I);
        uint32_t Row;
        if (Site != nullptr) {
          Row = AddSite(Site);
        } else if (auto It = RowOfId.find(markerSiteId(I)); It != RowOfId.end()) {
          Row = It->second;
        } else {
          Orphans.push_back(&I);
          continue;
        }
        Points.push_back({&I, Row});
      } else if (auto *Call = dyn_cast<CallBase>(&I)) {
        if (MDTuple *Site = siteOf(I))
          Points.push_back({&I, AddSite(Site)});
        else if (InlinerRan != nullptr && isCallWithoutDefinition(*Call))
          Points.push_back({&I, AddSite(createSite(M, describeCallWithoutDefinition(*Call)))});
      }
    }
  }
  for (Instruction *Orphan : Orphans)
    Orphan->eraseFromParent();
  for (const CounterPoint &Point : Points) {
    Function *F = Point.At->getFunction();
    BodyStarts.try_emplace(F, firstAfterAllocas(*F));
  }
  Changed |= !Orphans.empty();
  if (InlinerRan != nullptr) {
    M.eraseNamedMetadata(InlinerRan);
    Changed = true;
  }

  Rows.reserve(Sites.size());
  for (MDTuple *Site : Sites) {
    SiteDecision Row = readSite(Site);
    Row.Flags &= PublicSiteFlags;
    Rows.push_back(std::move(Row));
  }
  for (const CounterPoint &Point : Points)
    if (Point.Index < ZINST_MAX_MODULE_SITES)
      Rows[Point.Index].Flags |= ZINST_SITE_INFO_COUNTED;
  if (Rows.empty() && List != nullptr) {
    M.eraseNamedMetadata(List);
    Changed = true;
  }
}

void InlineSiteLowering::countFromTree(ArrayRef<Function *> WithEntryCode,
                                       const SmallPtrSetImpl<const Instruction *> &ExitPoints) {
  DenseMap<const Function *, uint32_t> Instrumented;
  for (size_t Index = 0; Index < WithEntryCode.size(); ++Index)
    Instrumented.try_emplace(WithEntryCode[Index], static_cast<uint32_t>(Index));
  // A site with several points (a call the optimizer copied after the
  // inliner decided, or a function cloned) adds them up: it keeps counters.
  DenseMap<uint32_t, unsigned> PointsOfRow;
  for (const CounterPoint &Point : Points)
    ++PointsOfRow[Point.Index];
  TreeCountRules Rules(Instrumented, ExitPoints);
  for (CounterPoint &Point : Points) {
    auto *Call = dyn_cast<CallBase>(Point.At);
    if (Call == nullptr || isMarker(*Call) || Point.Index >= ZINST_MAX_MODULE_SITES ||
        PointsOfRow.lookup(Point.Index) != 1)
      continue;
    const Function *Callee = Call->getCalledFunction();
    auto CallerIt = Instrumented.find(Call->getFunction());
    auto CalleeIt = Instrumented.find(Callee);
    if (CallerIt == Instrumented.end() || CalleeIt == Instrumented.end() ||
        !Rules.countsFromTree(*Call, *Callee))
      continue;
    SiteDecision &Row = Rows[Point.Index];
    Row.Flags |= ZINST_SITE_INFO_TREE;
    Row.CallerIndex = CallerIt->second;
    Row.CalleeIndex = CalleeIt->second;
    Point.FromTree = true;
  }
}

/// True if execution always goes on past I once it starts: I is no call, or
/// a call that returns normally whatever it is given (an intrinsic such as a
/// marker or llvm.memcpy, a library function LLVM knows). A call that may
/// exit, longjmp or unwind ends a run of sites that share a counter.
static bool alwaysContinues(const Instruction &I) {
  const auto *Call = dyn_cast<CallBase>(&I);
  return Call == nullptr || (Call->willReturn() && Call->doesNotThrow());
}

void InlineSiteLowering::shareCounters() {
  // Runs: the points of one block with nothing between them that may not
  // come back, which all run exactly as often. A call that is itself a
  // point is counted before it runs, so it still joins the run, and ends
  // it after. Numbered in the module's order, so the IR is deterministic.
  // One point per instruction: a marker, or a call (the constructor).
  DenseMap<const Instruction *, const CounterPoint *> PointAt;
  for (const CounterPoint &Point : Points)
    if (!Point.FromTree && Point.Index < ZINST_MAX_MODULE_SITES)
      PointAt.try_emplace(Point.At, &Point);
  if (PointAt.size() < 2)
    return;
  DenseMap<const CounterPoint *, uint32_t> RunOf;
  uint32_t Runs = 0;
  for (Function &F : M)
    for (BasicBlock &BB : F) {
      bool Open = false;
      for (Instruction &I : BB) {
        if (auto It = PointAt.find(&I); It != PointAt.end()) {
          if (!Open)
            ++Runs;
          Open = true;
          RunOf[It->second] = Runs;
        }
        if (!alwaysContinues(I))
          Open = false;
      }
    }
  // A site's count is the sum of its points' runs. Sites whose points lie
  // in the same runs (as many in each) therefore count alike: the sites a
  // function inlined, copied with it wherever it was inlined in turn, or
  // sites of one block. The first keeps its counter; the others share it
  // and their points add nothing (lower).
  std::vector<SmallVector<uint32_t, 2>> RunsOfRow(Rows.size());
  for (const CounterPoint &Point : Points) {
    auto It = RunOf.find(&Point);
    // A point outside any run (counted from the tree) keeps its site apart.
    RunsOfRow[Point.Index].push_back(It != RunOf.end() ? It->second : 0);
  }
  std::map<SmallVector<uint32_t, 2>, uint32_t> FirstWithRuns;
  for (uint32_t Row = 0; Row < Rows.size(); ++Row) {
    SmallVector<uint32_t, 2> &Key = RunsOfRow[Row];
    if (Key.empty() || llvm::is_contained(Key, 0u))
      continue;
    llvm::sort(Key);
    auto [It, Inserted] = FirstWithRuns.try_emplace(Key, Row);
    if (!Inserted)
      Rows[Row].SharedCounter = It->second + 1;
  }
}

void InlineSiteLowering::addEntryCounter(const FunctionDescription &F) {
  Function &Fn = *F.Function;
  SiteDecision Row;
  Row.Caller = Row.Callee = F.DisplayName;
  Row.CallerLinkage = Row.CalleeLinkage = Fn.getName().str();
  Row.File = Row.CalleeFile = F.File;
  Row.Line = F.Line;
  Row.Reason = "count-only function: calls counted at its entry";
  Row.Flags = ZINST_SITE_INFO_ENTRY | (F.FromDebugInfo ? ZINST_SITE_INFO_DEBUG : 0u);
  Row.CalleeInstructions = Fn.getInstructionCount();
  const auto Index = static_cast<uint32_t>(Rows.size());
  if (Index < ZINST_MAX_MODULE_SITES)
    Row.Flags |= ZINST_SITE_INFO_COUNTED;
  Rows.push_back(std::move(Row));
  // After the static allocas: a split entry block would turn them into
  // dynamic ones.
  BasicBlock &Entry = Fn.getEntryBlock();
  EntryPoints.push_back({&*Entry.getFirstNonPHIOrDbgOrAlloca(), Index});
  BodyStarts.try_emplace(&Fn, firstAfterAllocas(Fn));
  // The counter writes memory F may have been inferred not to touch
  // (memory(none)): a later pass (LTO's) could then delete or merge calls
  // of F, and with them the counts.
  Fn.removeFnAttr(Attribute::Memory);
  Changed = true;
}

void InlineSiteLowering::lower(GlobalVariable *ModuleInfo,
                               const SmallPtrSetImpl<const Function *> &WithEntryCode) {
  // One address of the counters per function that counts a site
  // (emitSiteCountersAddress, siteCountersPlace); the entry counters of count-only
  // functions first, so that they come before any site of their entry
  // block. Functions in order of their first point: a deterministic IR.
  std::vector<std::pair<Function *, std::vector<const CounterPoint *>>> ByFunction;
  DenseMap<Function *, size_t> SlotOf;
  for (const std::vector<CounterPoint> *List : {&EntryPoints, &Points})
    for (const CounterPoint &Point : *List) {
      if (Point.Index >= ZINST_MAX_MODULE_SITES || Point.FromTree ||
          Rows[Point.Index].SharedCounter != 0)
        continue;
      Function *F = Point.At->getFunction();
      auto [It, Inserted] = SlotOf.try_emplace(F, ByFunction.size());
      if (Inserted)
        ByFunction.push_back({F, {}});
      ByFunction[It->second].second.push_back(&Point);
    }
  if (!ByFunction.empty()) {
    CounterRuntime RT = declareRuntime(M);
    for (auto &[F, FunctionPoints] : ByFunction) {
      SmallVector<Instruction *, 8> Places;
      for (const CounterPoint *Point : FunctionPoints)
        Places.push_back(Point->At);
      Instruction *At = siteCountersPlace(*F, Places, BodyStarts.lookup(F));
      Value *Sites = emitSiteCountersAddress(At, ModuleInfo, RT, WithEntryCode.contains(F));
      for (const CounterPoint *Point : FunctionPoints)
        emitIncrement(Point->At, Sites, Point->Index);
    }
  }
  EntryPoints.clear();
  for (const CounterPoint &Point : Points) {
    if (isMarker(*Point.At))
      Point.At->eraseFromParent();
    else
      detachSite(*Point.At);
  }
  Points.clear();
  if (NamedMDNode *List = M.getNamedMetadata(SiteListName))
    M.eraseNamedMetadata(List);
}

bool targetHasPreserveMost(const Module &M) {
  Triple Target(M.getTargetTriple());
  if (Target.getArch() == Triple::UnknownArch)
    Target = Triple(sys::getDefaultTargetTriple());
  return Target.getArch() == Triple::x86_64 || Target.getArch() == Triple::aarch64;
}

} // namespace zinst
