//===- InlineSiteCounters.cpp - per-site counters at the end of the pipeline ===//
#include "InlineSiteCounters.h"
#include "InlineDecisionRecorder.h"
#include "InlineSiteTable.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
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
};

CounterRuntime declareRuntime(Module &M) {
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
  return {Counters, Slow};
}

/// Emits the increment of site Index right before Point.
void emitIncrement(Instruction *Point, uint32_t Index, GlobalVariable *ModuleInfo,
                   const CounterRuntime &RT) {
  Function &F = *Point->getFunction();
  LLVMContext &Ctx = F.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  Type *I64Ty = Type::getInt64Ty(Ctx);
  Type *PtrTy = PointerType::getUnqual(Ctx);
  // Line 0 in the function's scope: compiler-generated code, as the
  // verifier wants for calls in functions with debug info.
  DebugLoc Loc;
  if (DISubprogram *SP = F.getSubprogram())
    Loc = DILocation::get(Ctx, 0, 0, SP);

  IRBuilder<> B(Point);
  B.SetCurrentDebugLocation(Loc);
  Value *Counters = B.CreateLoad(PtrTy, B.CreateThreadLocalAddress(RT.Counters), "zinst.counters");
  Value *Missing = B.CreateIsNull(Counters);
  Instruction *ThenTerm = nullptr, *ElseTerm = nullptr;
  MDNode *Weights = MDBuilder(Ctx).createBranchWeights(1, 1u << 20);
  SplitBlockAndInsertIfThenElse(Missing, Point->getIterator(), &ThenTerm, &ElseTerm, Weights);

  IRBuilder<> Slow(ThenTerm);
  Slow.SetCurrentDebugLocation(Loc);
  Slow.CreateCall(RT.SlowPath, {ModuleInfo, ConstantInt::get(I32Ty, Index)});

  IRBuilder<> Fast(ElseTerm);
  Fast.SetCurrentDebugLocation(Loc);
  Value *BaseField = Fast.CreateStructGEP(ModuleInfo->getValueType(), ModuleInfo,
                                          ModuleInfoSiteBaseField, "zinst.site_base.addr");
  Value *Base = Fast.CreateLoad(I32Ty, BaseField, "zinst.site_base");
  Value *Slot = Fast.CreateZExt(Fast.CreateAdd(Base, ConstantInt::get(I32Ty, Index)), I64Ty);
  Value *Counter = Fast.CreateInBoundsGEP(I64Ty, Counters, Slot, "zinst.counter");
  Value *Count = Fast.CreateLoad(I64Ty, Counter);
  Fast.CreateStore(Fast.CreateAdd(Count, ConstantInt::get(I64Ty, 1)), Counter);
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
  CounterRuntime RT = declareRuntime(M);
  for (const CounterPoint &Point : EntryPoints)
    if (Point.Index < ZINST_MAX_MODULE_SITES)
      emitIncrement(Point.At, Point.Index, ModuleInfo, RT);
  EntryPoints.clear();
  for (const CounterPoint &Point : Points) {
    if (Point.Index < ZINST_MAX_MODULE_SITES)
      emitIncrement(Point.At, Point.Index, ModuleInfo, RT);
    if (isMarker(*Point.At))
      Point.At->eraseFromParent();
    else
      detachSite(*Point.At);
  }
  Points.clear();
  if (NamedMDNode *List = M.getNamedMetadata(SiteListName))
    M.eraseNamedMetadata(List);
}

} // namespace zinst
