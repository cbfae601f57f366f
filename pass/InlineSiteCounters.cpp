//===- InlineSiteCounters.cpp - per-site counters at the end of the pipeline ===//
#include "InlineSiteCounters.h"
#include "InlineDecisionRecorder.h"
#include "InlineSiteTable.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/DebugInfoMetadata.h"
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

#include <vector>

using namespace llvm;

namespace zinst {
namespace {

/// Clears the bits only the pass itself uses (see InlineDecisionRecorder.cpp).
constexpr uint32_t PublicSiteFlags = 0xFFFFu;

struct CounterRuntime {
  GlobalVariable *Counters; // __zinst_site_counters, initial-exec TLS
  FunctionCallee SlowPath;  // __zinst_count_site
  /// The module's own way to the slow path, or null (see slowPathThunk).
  Function *SlowThunk;
};

/// `void __zinst_count_site_slow(i32 index)`, internal, preserve_most:
/// calls __zinst_count_site(ModuleInfo, index). The slow path of every
/// increment calls it instead of __zinst_count_site: a call that clobbers
/// (almost) no register spares the register allocator and the debug-value
/// tracking the work that hundreds of C calls in a function's cold blocks
/// cost them. The extra call costs nothing that matters: the slow path runs
/// at a thread's first events (and after its counters were retired) only.
Function *slowPathThunk(Module &M, GlobalVariable *ModuleInfo, FunctionCallee SlowPath) {
  LLVMContext &Ctx = M.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  // The module's frame-pointer and unwind-table defaults, so that the thunk
  // unwinds like the code around it.
  Function *Thunk = Function::createWithDefaultAttr(
      FunctionType::get(Type::getVoidTy(Ctx), {I32Ty}, /*isVarArg=*/false),
      GlobalValue::InternalLinkage, M.getDataLayout().getProgramAddressSpace(),
      "__zinst_count_site_slow", &M);
  Thunk->setCallingConv(CallingConv::PreserveMost);
  Thunk->addFnAttr(Attribute::NoUnwind);
  Thunk->addFnAttr(Attribute::NoInline);
  Thunk->addFnAttr(Attribute::Cold);
  IRBuilder<> B(BasicBlock::Create(Ctx, "entry", Thunk));
  B.CreateCall(SlowPath, {ModuleInfo, Thunk->getArg(0)});
  B.CreateRetVoid();
  return Thunk;
}

CounterRuntime declareRuntime(Module &M, GlobalVariable *ModuleInfo) {
  LLVMContext &Ctx = M.getContext();
  auto *PtrTy = PointerType::getUnqual(Ctx);
  auto *Counters = M.getNamedGlobal("__zinst_site_counters");
  if (Counters == nullptr)
    Counters =
        new GlobalVariable(M, PtrTy, /*isConstant=*/false, GlobalValue::ExternalLinkage, nullptr,
                           "__zinst_site_counters", nullptr, GlobalValue::InitialExecTLSModel);
  AttributeList Attrs =
      AttributeList::get(Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind, Attribute::Cold});
  FunctionCallee Slow = M.getOrInsertFunction(
      "__zinst_count_site",
      FunctionType::get(Type::getVoidTy(Ctx), {PtrTy, Type::getInt32Ty(Ctx)}, false), Attrs);
  Function *Thunk = targetHasPreserveMost(M) ? slowPathThunk(M, ModuleInfo, Slow) : nullptr;
  return {Counters, Slow, Thunk};
}

/// Emits, right before At, the increments of the sites Indices (in that
/// order): one load of the thread's counters and one test for all of them.
void emitIncrements(Instruction *At, ArrayRef<uint32_t> Indices, GlobalVariable *ModuleInfo,
                    const CounterRuntime &RT) {
  Function &F = *At->getFunction();
  LLVMContext &Ctx = F.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  Type *I64Ty = Type::getInt64Ty(Ctx);
  Type *PtrTy = PointerType::getUnqual(Ctx);
  // Line 0 in the function's scope: compiler-generated code, as the
  // verifier wants for calls in functions with debug info.
  DebugLoc Loc;
  if (DISubprogram *SP = F.getSubprogram())
    Loc = DILocation::get(Ctx, 0, 0, SP);

  IRBuilder<> B(At);
  B.SetCurrentDebugLocation(Loc);
  Value *Counters = B.CreateLoad(PtrTy, B.CreateThreadLocalAddress(RT.Counters), "zinst.counters");
  Value *Missing = B.CreateIsNull(Counters);
  Instruction *ThenTerm = nullptr, *ElseTerm = nullptr;
  MDNode *Weights = MDBuilder(Ctx).createBranchWeights(1, 1u << 20);
  SplitBlockAndInsertIfThenElse(Missing, At->getIterator(), &ThenTerm, &ElseTerm, Weights);

  IRBuilder<> Slow(ThenTerm);
  Slow.SetCurrentDebugLocation(Loc);
  for (uint32_t Index : Indices) {
    if (RT.SlowThunk != nullptr)
      Slow.CreateCall(RT.SlowThunk, {ConstantInt::get(I32Ty, Index)})
          ->setCallingConv(RT.SlowThunk->getCallingConv());
    else
      Slow.CreateCall(RT.SlowPath, {ModuleInfo, ConstantInt::get(I32Ty, Index)});
  }

  IRBuilder<> Fast(ElseTerm);
  Fast.SetCurrentDebugLocation(Loc);
  for (uint32_t Index : Indices) {
    // site_base is read at each increment, as a lone increment would.
    Value *BaseField = Fast.CreateStructGEP(ModuleInfo->getValueType(), ModuleInfo,
                                            ModuleInfoSiteBaseField, "zinst.site_base.addr");
    Value *Base = Fast.CreateLoad(I32Ty, BaseField, "zinst.site_base");
    Value *Slot = Fast.CreateZExt(Fast.CreateAdd(Base, ConstantInt::get(I32Ty, Index)), I64Ty);
    Value *Counter = Fast.CreateInBoundsGEP(I64Ty, Counters, Slot, "zinst.counter");
    Value *Count = Fast.CreateLoad(I64Ty, Counter);
    Fast.CreateStore(Fast.CreateAdd(Count, ConstantInt::get(I64Ty, 1)), Counter);
  }
}

/// True for an instruction a site's increment can move across without
/// anyone telling: it cannot trap, call anything or write memory (so it
/// cannot change the thread's counters pointer either), or it is one of
/// zinst's markers, which are erased.
bool isTransparent(const Instruction &I) {
  if (isMarker(I) || isa<DbgInfoIntrinsic>(I))
    return true;
  return !I.mayHaveSideEffects() && isSafeToSpeculativelyExecute(&I);
}

/// True when nothing but transparent instructions lies between From
/// (included) and To (excluded), in one basic block.
bool onlyTransparentBetween(Instruction &From, Instruction &To) {
  if (From.getParent() != To.getParent())
    return false;
  for (auto It = From.getIterator(), End = To.getIterator(); It != End; ++It)
    if (It == From.getParent()->end() || !isTransparent(*It))
      return false;
  return true;
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
  // The counter writes memory F may have been inferred not to touch
  // (memory(none)): a later pass (LTO's) could then delete or merge calls
  // of F, and with them the counts.
  Fn.removeFnAttr(Attribute::Memory);
  Changed = true;
}

void InlineSiteLowering::lower(GlobalVariable *ModuleInfo) {
  // Sites counted one right after the other (the markers of a callee and
  // of what was inlined into it, the counter of the call that follows)
  // share one load and test of the counters pointer: each test splits its
  // block in four, and the code generator's time grows with the blocks.
  // Only transparent instructions lie between the places of a group, so
  // counting the whole group at its first place changes no count. Groups
  // are formed before any block is split.
  struct Group {
    Instruction *At;
    SmallVector<uint32_t, 4> Indices;
  };
  std::vector<Group> Groups;
  Instruction *Last = nullptr;
  for (const CounterPoint &Point : Points) {
    if (Point.Index >= ZINST_MAX_MODULE_SITES)
      continue;
    // Last is a marker (transparent) or a counted call, which ends its
    // group: the call may change what the next test would see.
    if (Groups.empty() || !onlyTransparentBetween(*Last, *Point.At))
      Groups.push_back({Point.At, {}});
    Groups.back().Indices.push_back(Point.Index);
    Last = Point.At;
  }
  if (!Groups.empty() || !EntryPoints.empty()) {
    CounterRuntime RT = declareRuntime(M, ModuleInfo);
    // Entry counters before Points: an entry counter's instruction may be a
    // marker or a tagged call that lowering Points erases or rewrites. Each
    // is emitted right before its instruction, so at or before any group
    // of the entry block, which keeps that group's place valid.
    for (const CounterPoint &Point : EntryPoints)
      if (Point.Index < ZINST_MAX_MODULE_SITES)
        emitIncrements(Point.At, ArrayRef<uint32_t>(Point.Index), ModuleInfo, RT);
    for (const Group &G : Groups)
      emitIncrements(G.At, G.Indices, ModuleInfo, RT);
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
