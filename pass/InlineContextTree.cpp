//===- InlineContextTree.cpp - the calling-context tree in inline code ----===//
#include "InlineContextTree.h"
#include "InlineSiteCounters.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"

using namespace llvm;

namespace zinst {
namespace {

/// Moves the entry block's static allocas to its top and returns the first
/// instruction after them: the inline code splits the block there, and an
/// alloca left below the split would become a dynamic one (the code
/// generator runs next; nothing would move it back).
Instruction *afterStaticAllocas(BasicBlock &Entry) {
  Instruction *InsertAfter = nullptr;
  for (Instruction &I : make_early_inc_range(Entry)) {
    auto *Alloca = dyn_cast<AllocaInst>(&I);
    if (Alloca == nullptr || !Alloca->isStaticAlloca())
      continue;
    if (InsertAfter == nullptr) {
      Alloca->moveBefore(Entry, Entry.getFirstInsertionPt());
    } else {
      Alloca->moveAfter(InsertAfter);
    }
    InsertAfter = Alloca;
  }
  if (InsertAfter == nullptr)
    return &*Entry.getFirstInsertionPt();
  return InsertAfter->getNextNode();
}

} // namespace

InlineContextRuntime declareInlineContextRuntime(Module &M, GlobalVariable *ModuleInfo) {
  LLVMContext &Ctx = M.getContext();
  auto *PtrTy = PointerType::getUnqual(Ctx);
  auto *Context = M.getNamedGlobal("__zinst_context");
  if (Context == nullptr)
    Context =
        new GlobalVariable(M, PtrTy, /*isConstant=*/false, GlobalValue::ExternalLinkage, nullptr,
                           "__zinst_context", nullptr, GlobalValue::InitialExecTLSModel);
  AttributeList Attrs =
      AttributeList::get(Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind, Attribute::Cold});
  FunctionType *SlowTy = FunctionType::get(PtrTy, {PtrTy, Type::getInt32Ty(Ctx), PtrTy}, false);
  // Where the target has preserve_most, the runtime's entry point of that
  // convention: a miss saves only the registers the runtime uses.
  bool PreserveMost = targetHasPreserveMost(M);
  FunctionCallee Slow = M.getOrInsertFunction(
      PreserveMost ? "__zinst_context_miss" : "__zinst_context_enter", SlowTy, Attrs);
  if (PreserveMost)
    cast<Function>(Slow.getCallee())->setCallingConv(CallingConv::PreserveMost);
  InlineContextRuntime RT{Context, ModuleInfo, Slow, PreserveMost};
  return RT;
}

void emitInlineContextTree(Function &F, uint32_t Index, ArrayRef<Instruction *> ExitPoints,
                           const InlineContextRuntime &RT) {
  LLVMContext &Ctx = F.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  Type *I64Ty = Type::getInt64Ty(Ctx);
  Type *I8Ty = Type::getInt8Ty(Ctx);
  Type *PtrTy = PointerType::getUnqual(Ctx);
  // Line 0 in the function's scope: compiler-generated code, as the
  // verifier wants for calls in functions with debug info.
  DebugLoc Loc;
  if (DISubprogram *SP = F.getSubprogram())
    Loc = DILocation::get(Ctx, 0, 0, SP);

  // Every way in and out of F's body where the context must be set, found
  // before anything is inserted: after calls that return twice (setjmp
  // comes back from a longjmp that skipped the frames of F's callees) and
  // at landing pads (an exception skipped them).
  SmallVector<Instruction *, 4> Reentries;
  for (BasicBlock &BB : F) {
    if (BB.isLandingPad())
      Reentries.push_back(&*BB.getFirstInsertionPt());
    for (Instruction &I : BB) {
      auto *Call = dyn_cast<CallInst>(&I);
      if (Call != nullptr && Call->hasFnAttr(Attribute::ReturnsTwice))
        Reentries.push_back(Call->getNextNode());
    }
  }

  Instruction *Split = afterStaticAllocas(F.getEntryBlock());
  IRBuilder<> B(Split);
  B.SetCurrentDebugLocation(Loc);
  Value *Current =
      B.CreateLoad(PtrTy, B.CreateThreadLocalAddress(RT.Context), "zinst.context.saved");
  LoadInst *IdBase = B.CreateAlignedLoad(
      I32Ty, B.CreateStructGEP(RT.ModuleInfo->getValueType(), RT.ModuleInfo, ModuleInfoIdBaseField),
      Align(4), "zinst.id.base");
  IdBase->setAtomic(AtomicOrdering::Monotonic);
  Value *Id = B.CreateAdd(IdBase, ConstantInt::get(I32Ty, Index), "zinst.id");
  // The context's recent child in the slot of this function's id.
  Value *Way = B.CreateZExt(B.CreateAnd(Id, ZINST_NODE_RECENT_CHILDREN - 1), I64Ty, "zinst.way");
  Value *SlotOffset =
      B.CreateAdd(B.CreateShl(Way, 3), ConstantInt::get(I64Ty, ZINST_NODE_RECENT_CHILDREN_OFFSET),
                  "zinst.slot");
  LoadInst *Last = B.CreateAlignedLoad(PtrTy, B.CreateInBoundsGEP(I8Ty, Current, SlotOffset),
                                       Align(8), "zinst.last");
  Last->setAtomic(AtomicOrdering::Monotonic);
  Value *LastFunction = B.CreateAlignedLoad(
      I32Ty, B.CreateConstInBoundsGEP1_64(I8Ty, Last, ZINST_NODE_FUNCTION_OFFSET), Align(4),
      "zinst.last.function");
  Value *Hit = B.CreateAnd(B.CreateICmpNE(IdBase, ConstantInt::get(I32Ty, 0)),
                           B.CreateICmpEQ(LastFunction, Id), "zinst.hit");
  Instruction *FastTerm = nullptr, *SlowTerm = nullptr;
  MDNode *Weights = MDBuilder(Ctx).createBranchWeights(1u << 20, 1);
  SplitBlockAndInsertIfThenElse(Hit, Split->getIterator(), &FastTerm, &SlowTerm, Weights);

  IRBuilder<> Fast(FastTerm);
  Fast.SetCurrentDebugLocation(Loc);
  // One add to memory in optimized x86-64 code (a signal handler cannot split
  // it); load, add and store at -O0 and on AArch64 (README, Known limits).
  Value *Calls = Fast.CreateAlignedLoad(I64Ty, Last, Align(8), "zinst.calls");
  Fast.CreateAlignedStore(Fast.CreateAdd(Calls, ConstantInt::get(I64Ty, 1)), Last, Align(8));
  Fast.CreateAlignedStore(Last, Fast.CreateThreadLocalAddress(RT.Context), Align(8));

  IRBuilder<> Slow(SlowTerm);
  Slow.SetCurrentDebugLocation(Loc);
  CallInst *Entered =
      Slow.CreateCall(RT.SlowPath, {RT.ModuleInfo, ConstantInt::get(I32Ty, Index), Current});
  if (RT.SlowPathIsPreserveMost)
    Entered->setCallingConv(CallingConv::PreserveMost);

  PHINode *Mine = nullptr;
  if (!Reentries.empty()) {
    IRBuilder<> Join(Split);
    Mine = Join.CreatePHI(PtrTy, 2, "zinst.context");
    Mine->addIncoming(Last, FastTerm->getParent());
    Mine->addIncoming(Entered, SlowTerm->getParent());
  }
  for (Instruction *At : Reentries) {
    IRBuilder<> R(At);
    R.SetCurrentDebugLocation(Loc);
    R.CreateAlignedStore(Mine, R.CreateThreadLocalAddress(RT.Context), Align(8));
  }
  for (Instruction *At : ExitPoints) {
    IRBuilder<> R(At);
    R.SetCurrentDebugLocation(Loc);
    R.CreateAlignedStore(Current, R.CreateThreadLocalAddress(RT.Context), Align(8));
  }
}

} // namespace zinst
