//===- InlineContextTree.cpp - the calling-context tree in inline code ----===//
#include "InlineContextTree.h"
#include "InlineSiteCounters.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/IR/CFG.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
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

/// Loads Context's recent child in slot Way (below
/// ZINST_NODE_RECENT_CHILDREN), never null (zinst_abi.h).
LoadInst *loadRecentChild(IRBuilder<> &B, Value *Context, uint32_t Way, const Twine &Name) {
  uint64_t Offset = ZINST_NODE_RECENT_CHILDREN_OFFSET + uint64_t{Way} * 8;
  LoadInst *Child = B.CreateAlignedLoad(
      B.getPtrTy(), B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Context, Offset), Align(8), Name);
  Child->setAtomic(AtomicOrdering::Monotonic);
  return Child;
}

/// The first and second slots of function Index: the id's low bits and its
/// next ones (zinst_abi.h), which are Index's, as id_base is a multiple of
/// ZINST_ID_BASE_ALIGNMENT: constants, so the loads do not wait for id_base.
static_assert(ZINST_ID_BASE_ALIGNMENT %
                      (ZINST_NODE_RECENT_CHILDREN << ZINST_NODE_SECOND_SLOT_SHIFT) ==
                  0,
              "both slots are the index's bits");
static_assert(ZINST_ID_BASE_UNREGISTERED % ZINST_ID_BASE_ALIGNMENT == 0,
              "an unregistered module's slots are its registered ones");
uint32_t firstSlot(uint32_t Index) {
  return Index & (ZINST_NODE_RECENT_CHILDREN - 1);
}
uint32_t secondSlot(uint32_t Index) {
  return (Index >> ZINST_NODE_SECOND_SLOT_SHIFT) & (ZINST_NODE_RECENT_CHILDREN - 1);
}

/// The function id of the node Child.
Value *childFunction(IRBuilder<> &B, Value *Child) {
  return B.CreateAlignedLoad(
      B.getInt32Ty(),
      B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Child, ZINST_NODE_FUNCTION_OFFSET), Align(4));
}

/// True if F calls nothing that could run instrumented code, so that no
/// function reads the thread's context while F runs: F is a leaf and need
/// not make its own context current (InlineContextTree.h). Intrinsics are
/// not calls, except that memcpy and its kin may become calls of a memcpy
/// the program defines and zinst instruments, and that a patchpoint or a
/// statepoint calls its target.
bool isLeaf(const Function &F) {
  for (const BasicBlock &BB : F)
    for (const Instruction &I : BB) {
      const auto *Call = dyn_cast<CallBase>(&I);
      if (Call == nullptr)
        continue;
      const Function *Callee = Call->getCalledFunction();
      if (Callee == nullptr || !Callee->isIntrinsic() || isa<MemIntrinsic>(Call))
        return false;
      StringRef Name = Callee->getName();
      if (Name.starts_with("llvm.experimental.patchpoint") ||
          Name.starts_with("llvm.experimental.gc.statepoint"))
        return false;
    }
  return true;
}

/// Branch weights for a branch whose "then" side is rare.
MDNode *unlikely(LLVMContext &Ctx) {
  return MDBuilder(Ctx).createBranchWeights(1, 1u << 20);
}

/// The function's canonical frame address (frameAddressIntrinsic), emitted
/// where it is used: it is the same value anywhere in the function, and
/// keeping one copy live across the body would cost a register.
Value *frameAddress(IRBuilder<> &B, const InlineContextRuntime &RT) {
  return B.CreateIntrinsic(RT.FrameAddress, {PointerType::getUnqual(B.getContext())}, {});
}

/// Counts this call of Context down toward its next timed one (zinst_abi.h,
/// ZINST_MODULE_INLINE_TIME) and returns whether this one is it: whether its
/// untimed_left fell below 0. `decq` and a branch on its sign.
Value *countDownTiming(IRBuilder<> &B, Value *Context) {
  Type *I64Ty = B.getInt64Ty();
  Value *LeftPtr =
      B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Context, ZINST_NODE_UNTIMED_LEFT_OFFSET);
  Value *Left = B.CreateAlignedLoad(I64Ty, LeftPtr, Align(8), "zinst.untimed.left");
  Value *Next = B.CreateAdd(Left, ConstantInt::getAllOnesValue(I64Ty), "zinst.untimed.next");
  B.CreateAlignedStore(Next, LeftPtr, Align(8));
  return B.CreateICmpSLT(Next, ConstantInt::get(I64Ty, 0), "zinst.due");
}

/// Emits, before At (a way out of F), the timed exit: the runtime's, when
/// this thread's innermost timed activation is this one, or deeper (then it
/// was abandoned: zinst_abi.h). The runtime keeps its frame address in a TLS
/// word, so no flag and no node stay live across F's body.
void emitTimedExit(Instruction *At, const InlineContextRuntime &RT, DebugLoc Loc) {
  LLVMContext &Ctx = At->getContext();
  Type *IntPtrTy = RT.TimedFrame->getValueType();
  IRBuilder<> Test(At);
  Test.SetCurrentDebugLocation(Loc);
  Value *Innermost =
      Test.CreateLoad(IntPtrTy, Test.CreateThreadLocalAddress(RT.TimedFrame), "zinst.timed.frame");
  Value *Frame = frameAddress(Test, RT);
  Value *AtOrBelow =
      Test.CreateICmpULE(Innermost, Test.CreatePtrToInt(Frame, IntPtrTy), "zinst.timed.exit");
  Instruction *Then =
      SplitBlockAndInsertIfThen(AtOrBelow, At->getIterator(), /*Unreachable=*/false, unlikely(Ctx));
  IRBuilder<> Close(Then);
  Close.SetCurrentDebugLocation(Loc);
  Close.CreateCall(RT.TimedExit, {Frame})->setCallingConv(CallingConv::PreserveMost);
}

} // namespace

InlineContextRuntime declareInlineContextRuntime(Module &M, GlobalVariable *ModuleInfo,
                                                 Intrinsic::ID FrameAddress) {
  LLVMContext &Ctx = M.getContext();
  auto *PtrTy = PointerType::getUnqual(Ctx);
  GlobalVariable *Context = runtimeThreadLocal(M, "__zinst_context", PtrTy);
  // nonlazybind: in a shared library the calls go through the GOT, bound at
  // load time, not through a lazily bound PLT entry, whose first call runs
  // the dynamic linker's resolver: that saves the argument registers only,
  // and a preserve_most caller keeps values in the others (r10 on x86-64).
  AttributeList Attrs =
      AttributeList::get(Ctx, AttributeList::FunctionIndex,
                         {Attribute::NoUnwind, Attribute::Cold, Attribute::NonLazyBind});
  // Where the target has preserve_most, the runtime's entry point of that
  // convention: a miss saves only the registers the runtime uses. With
  // timing (only there), the one that also takes a found context's due
  // call, and times a new context's call when it is due, so that the code
  // after it tests nothing.
  bool PreserveMost = targetHasPreserveMost(M);
  bool Timing = FrameAddress != Intrinsic::not_intrinsic;
  SmallVector<Type *, 5> SlowArgs = {PtrTy, Type::getInt32Ty(Ctx), PtrTy};
  if (Timing)
    SlowArgs.append({PtrTy, PtrTy});
  FunctionCallee Slow = M.getOrInsertFunction(Timing         ? "__zinst_context_miss_or_due"
                                              : PreserveMost ? "__zinst_context_miss"
                                                             : "__zinst_context_enter",
                                              FunctionType::get(PtrTy, SlowArgs, false), Attrs);
  if (PreserveMost)
    cast<Function>(Slow.getCallee())->setCallingConv(CallingConv::PreserveMost);
  InlineContextRuntime RT;
  RT.Context = Context;
  RT.ModuleInfo = ModuleInfo;
  // Null in a module of sites only: it has no function to instrument.
  RT.FunctionIds = dyn_cast<GlobalVariable>(
      cast<ConstantStruct>(ModuleInfo->getInitializer())->getOperand(ModuleInfoFunctionIdsField));
  RT.SlowPath = Slow;
  RT.SlowPathIsPreserveMost = PreserveMost;
  if (Timing) {
    // Timing needs the frame address, which the targets with preserve_most
    // have (frameAddressIntrinsic): the runtime's timed entry points use it.
    Type *VoidTy = Type::getVoidTy(Ctx);
    RT.TimedFrame =
        runtimeThreadLocal(M, "__zinst_timed_frame", M.getDataLayout().getIntPtrType(Ctx));
    RT.TimedExit = M.getOrInsertFunction("__zinst_timed_exit",
                                         FunctionType::get(VoidTy, {PtrTy}, false), Attrs);
    RT.TimedReenter = M.getOrInsertFunction(
        "__zinst_timed_reenter", FunctionType::get(Type::getVoidTy(Ctx), {PtrTy}, false), Attrs);
    cast<Function>(RT.TimedExit.getCallee())->setCallingConv(CallingConv::PreserveMost);
    cast<Function>(RT.TimedReenter.getCallee())->setCallingConv(CallingConv::PreserveMost);
    RT.FrameAddress = FrameAddress;
  }
  return RT;
}

void emitInlineContextTree(Function &F, uint32_t Index, ArrayRef<Instruction *> ExitPoints,
                           const InlineContextRuntime &RT) {
  LLVMContext &Ctx = F.getContext();
  Type *I32Ty = Type::getInt32Ty(Ctx);
  Type *I64Ty = Type::getInt64Ty(Ctx);
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

  // A leaf leaves its caller's context current: no function reads it
  // before the leaf returns, so it stores nothing at entry or on the way
  // out. A signal handler that interrupts it counts as its caller's callee.
  bool Leaf = isLeaf(F);

  Instruction *Split = afterStaticAllocas(F.getEntryBlock());
  IRBuilder<> B(Split);
  B.SetCurrentDebugLocation(Loc);
  Value *Current = B.CreateLoad(PtrTy, B.CreateThreadLocalAddress(RT.Context), "zinst.current");
  // The function's id, id_base + Index, which the runtime wrote into the
  // module's array at registration: one load, no add (zinst_abi.h).
  LoadInst *Id = B.CreateAlignedLoad(
      I32Ty, B.CreateConstInBoundsGEP2_64(RT.FunctionIds->getValueType(), RT.FunctionIds, 0, Index),
      Align(4), "zinst.id");
  Id->setAtomic(AtomicOrdering::Monotonic);
  // The context's recent child in the first slot of this function's id,
  // then in its second (zinst_abi.h), unless that is the same slot. No test
  // for registration: an unregistered module's ids match no node.
  bool TwoSlots = secondSlot(Index) != firstSlot(Index);
  LoadInst *First = loadRecentChild(B, Current, firstSlot(Index), "zinst.first");
  Value *Hit = B.CreateICmpEQ(childFunction(B, First), Id, "zinst.hit");

  // entry: br %hit, %found, %second; second: br %hit2, %found, %miss;
  // found: count, make current; miss: the runtime; both to the body. With
  // timing, found goes on to the same block (%slow) when the call is due.
  BasicBlock *Head = Split->getParent();
  BasicBlock *Body = Head->splitBasicBlock(Split->getIterator(), "zinst.entered");
  BasicBlock *SecondBB = TwoSlots ? BasicBlock::Create(Ctx, "zinst.second", &F, Body) : nullptr;
  BasicBlock *FoundBB = BasicBlock::Create(Ctx, "zinst.found", &F, Body);
  // With timing, also a found context's due call (rare) goes to this block:
  // one call of the runtime, which tells the two apart by %due.
  bool Timing = RT.FrameAddress != Intrinsic::not_intrinsic;
  BasicBlock *MissBB = BasicBlock::Create(Ctx, Timing ? "zinst.slow" : "zinst.miss", &F, Body);
  Head->getTerminator()->eraseFromParent();
  MDNode *Likely = MDBuilder(Ctx).createBranchWeights(1u << 20, 1);
  B.SetInsertPoint(Head);
  B.CreateCondBr(Hit, FoundBB, TwoSlots ? SecondBB : MissBB, Likely);

  IRBuilder<> Fast(FoundBB);
  Fast.SetCurrentDebugLocation(Loc);
  PHINode *Found = Fast.CreatePHI(PtrTy, 2, "zinst.child");
  Found->addIncoming(First, Head);
  if (TwoSlots) {
    IRBuilder<> Second(SecondBB);
    Second.SetCurrentDebugLocation(Loc);
    LoadInst *Other = loadRecentChild(Second, Current, secondSlot(Index), "zinst.second.child");
    Value *Hit2 = Second.CreateICmpEQ(childFunction(Second, Other), Id, "zinst.hit2");
    Second.CreateCondBr(Hit2, FoundBB, MissBB, Likely);
    Found->addIncoming(Other, SecondBB);
  }
  // One add to memory in optimized x86-64 code (a signal handler cannot split
  // it); load, add and store at -O0 and on AArch64 (README, Known limits).
  Value *Calls = Fast.CreateAlignedLoad(I64Ty, Found, Align(8), "zinst.calls");
  Fast.CreateAlignedStore(Fast.CreateAdd(Calls, ConstantInt::get(I64Ty, 1)), Found, Align(8));
  if (!Leaf)
    Fast.CreateAlignedStore(Found, Fast.CreateThreadLocalAddress(RT.Context), Align(8));
  // Last, so that the branch tests the decrement's own flags.
  if (Timing)
    Fast.CreateCondBr(countDownTiming(Fast, Found), MissBB, Body, unlikely(Ctx));
  else
    Fast.CreateBr(Body);

  IRBuilder<> Slow(MissBB);
  Slow.SetCurrentDebugLocation(Loc);
  SmallVector<Value *, 5> SlowArgs = {RT.ModuleInfo, ConstantInt::get(I32Ty, Index), Current};
  if (Timing) {
    // The found context whose call is due, or null after a miss.
    PHINode *Due = Slow.CreatePHI(PtrTy, 3, "zinst.due.context");
    for (BasicBlock *Pred : predecessors(MissBB))
      Due->addIncoming(Pred == FoundBB ? static_cast<Value *>(Found)
                                       : ConstantPointerNull::get(cast<PointerType>(PtrTy)),
                       Pred);
    SlowArgs.push_back(Due);
    SlowArgs.push_back(frameAddress(Slow, RT)); // timed there when due
  }
  // The runtime returns the context to put back on the way out: Current,
  // or the thread's own root in place of the no-context node (zinst_abi.h),
  // so that calls from uninstrumented code on a thread that started there
  // hit after the first.
  CallInst *Restore = Slow.CreateCall(RT.SlowPath, SlowArgs, "zinst.restore");
  if (RT.SlowPathIsPreserveMost)
    Restore->setCallingConv(CallingConv::PreserveMost);
  // After a miss the runtime made the new context current; a leaf puts its
  // caller's back (after a due call, it is its caller's already).
  if (Leaf)
    Slow.CreateAlignedStore(Restore, Slow.CreateThreadLocalAddress(RT.Context), Align(8));
  // The function's own context, which the miss made current, for the ways
  // back into the body (only functions that call have them: no leaf).
  Value *Entered = nullptr;
  if (!Reentries.empty())
    Entered =
        Slow.CreateLoad(PtrTy, Slow.CreateThreadLocalAddress(RT.Context), "zinst.new.context");
  Slow.CreateBr(Body);

  IRBuilder<> Join(Split);
  PHINode *Saved = nullptr;
  if (!Leaf) {
    Saved = Join.CreatePHI(PtrTy, 2, "zinst.saved");
    Saved->addIncoming(Current, FoundBB);
    Saved->addIncoming(Restore, MissBB);
  }
  // The function's own context, where the body begins.
  PHINode *Mine = nullptr;
  if (Entered != nullptr) {
    Mine = Join.CreatePHI(PtrTy, 2, "zinst.context");
    Mine->addIncoming(Found, FoundBB);
    Mine->addIncoming(Entered, MissBB);
  }
  for (Instruction *At : Reentries) {
    IRBuilder<> R(At);
    R.SetCurrentDebugLocation(Loc);
    R.CreateAlignedStore(Mine, R.CreateThreadLocalAddress(RT.Context), Align(8));
    // The timed frames of the calls the exception or longjmp skipped end
    // here, not at the thread's next timed event, which may come many
    // untimed calls later. Exceptions and longjmp cost far more than this
    // call, which returns at once when no frame is below F's.
    if (Timing)
      R.CreateCall(RT.TimedReenter, {frameAddress(R, RT)})
          ->setCallingConv(CallingConv::PreserveMost);
  }
  for (Instruction *At : ExitPoints) {
    // A timed activation tells the runtime first: the exit reads the clock
    // before anything else.
    if (Timing)
      emitTimedExit(At, RT, Loc);
    if (Leaf)
      continue;
    IRBuilder<> R(At);
    R.SetCurrentDebugLocation(Loc);
    R.CreateAlignedStore(Saved, R.CreateThreadLocalAddress(RT.Context), Align(8));
  }
}

} // namespace zinst
