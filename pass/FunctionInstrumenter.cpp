//===- FunctionInstrumenter.cpp - entry/exit hooks in every function ------===//
#include "FunctionInstrumenter.h"
#include "InlineContextTree.h"
#include "InlineSiteCounters.h"
#include "LLVMCompat.h"
#include "ModuleTable.h"
#include "zinst_abi.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <optional>
#include <vector>

using namespace llvm;

namespace zinst {
namespace {

/// Marks a function this pass already instrumented.
constexpr const char *InstrumentedAttr = "zinst-instrumented";

/// Why a function gets no hooks, whatever the options say.
bool mustSkip(const Function &F) {
  // Nothing to instrument.
  if (F.isDeclaration())
    return true;
  // A naked function has no prologue: the body is inline assembly that owns
  // the stack, and a call inserted into it would run on an unset-up frame.
  if (F.hasFnAttribute(Attribute::Naked))
    return true;
  // The definition is a copy for the optimizer; the module that owns the
  // function emits (and instruments) the real one.
  if (F.hasAvailableExternallyLinkage())
    return true;
  // The runtime's own functions and this pass's ctor/dtor: instrumenting them
  // would recurse into the hooks.
  if (F.getName().starts_with("__zinst"))
    return true;
  // Callbacks a program defines for a sanitizer runtime
  // (__asan_default_options...): the sanitizer calls them while it starts,
  // before the C library or zinst's runtime can run, and a hook there
  // crashes the program.
  for (StringRef Prefix : {"__asan_", "__lsan_", "__ubsan_", "__tsan_", "__msan_", "__hwasan_"})
    if (F.getName().starts_with(Prefix))
      return true;
  // Already instrumented by an earlier run (ThinLTO pre- and post-link with
  // LLVM 19, `-passes=zinst,zinst`).
  if (F.hasFnAttribute(InstrumentedAttr))
    return true;
  return false;
}

/// The instruction before which the function's frame ends on the path that
/// leaves through Ret: a musttail call, or a call marked `tail` whose result
/// Ret returns (or that precedes `ret void`) and that the backend may emit
/// as a sibling call; otherwise Ret itself. Exiting before such a call puts
/// the hook where the CPU really leaves the caller and keeps the sibling call
/// possible.
Instruction *frameEndBefore(ReturnInst &Ret) {
  if (CallInst *MustTail = Ret.getParent()->getTerminatingMustTailCall())
    return MustTail;
  // Both supported majors keep debug info in records, not instructions, so
  // the previous instruction is the previous real one.
  auto *Call = dyn_cast_or_null<CallInst>(Ret.getPrevNode());
  if (Call == nullptr || !Call->isTailCall())
    return &Ret;
  // Intrinsics and inline assembly are not calls the backend turns into a
  // sibling call of a user function.
  if (Call->isInlineAsm())
    return &Ret;
  if (const Function *Callee = Call->getCalledFunction(); Callee && Callee->isIntrinsic())
    return &Ret;
  Value *Returned = Ret.getReturnValue();
  if (Returned != nullptr && Returned != Call)
    return &Ret;
  return Call;
}

/// The intrinsic that gives an instrumented function's canonical frame
/// address: a value equal for every function called from the same place,
/// whatever its frame size, and strictly lower for every deeper call (the
/// runtime tells a function's callees from its abandoned siblings by it,
/// runtime/hooks.c). Both lower to one add to the stack pointer and force no
/// frame pointer.
///  - x86-64: the address of the return address slot.
///  - AArch64: the stack pointer at entry. (llvm.addressofreturnaddress there
///    names the LR slot of the frame record, whose place depends on how many
///    registers the function saves, and forces a frame pointer.)
/// None for other targets. A module without a triple is compiled for the host.
std::optional<Intrinsic::ID> frameAddressIntrinsic(const Module &M) {
  Triple Target(M.getTargetTriple());
  if (Target.getArch() == Triple::UnknownArch)
    Target = Triple(sys::getDefaultTargetTriple());
  switch (Target.getArch()) {
  case Triple::x86_64:
    return Intrinsic::addressofreturnaddress;
  case Triple::aarch64:
    return Intrinsic::sponentry;
  default:
    return std::nullopt;
  }
}

struct Hooks {
  FunctionCallee Enter;
  FunctionCallee Exit;
  Intrinsic::ID FrameAddress; // see frameAddressIntrinsic
};

Hooks declareHooks(Module &M, Intrinsic::ID FrameAddress) {
  LLVMContext &Ctx = M.getContext();
  // (module, function index, canonical frame address): zinst_abi.h.
  PointerType *PtrTy = PointerType::getUnqual(Ctx);
  FunctionType *HookTy =
      FunctionType::get(Type::getVoidTy(Ctx), {PtrTy, Type::getInt32Ty(Ctx), PtrTy}, false);
  // nounwind: calls to the hooks never need an invoke or a landing pad.
  AttributeList Attrs =
      AttributeList::get(Ctx, AttributeList::FunctionIndex, {Attribute::NoUnwind});
  return {M.getOrInsertFunction("__zinst_enter", HookTy, Attrs),
          M.getOrInsertFunction("__zinst_exit", HookTy, Attrs), FrameAddress};
}

/// Every way out of F, found before anything is inserted: the instructions
/// before which its frame ends.
SmallVector<Instruction *, 8> exitPoints(Function &F) {
  //  - `ret`: the function returns (possibly through a tail call, see
  //    frameEndBefore).
  //  - `resume`: an exception continues to unwind out of this frame after
  //    its cleanups ran. A landing pad that catches continues in the
  //    function and is no way out.
  // Calls that unwind through this frame without a landing pad, longjmp and
  // noreturn calls leave no instruction to hook; the runtime detects those
  // frames by their frame address and closes them, so no landing pads are
  // added here (they would change the code the optimizer produced).
  SmallVector<Instruction *, 8> ExitPoints;
  for (BasicBlock &BB : F) {
    Instruction *Term = BB.getTerminator();
    if (auto *Ret = dyn_cast<ReturnInst>(Term))
      ExitPoints.push_back(frameEndBefore(*Ret));
    else if (isa<ResumeInst>(Term))
      ExitPoints.push_back(Term);
  }
  return ExitPoints;
}

/// Removes what may no longer hold of an instrumented F and marks it done.
void markInstrumented(Function &F) {
  // The hooks read and write memory F never touched (the runtime's state and
  // the module descriptor) and may synchronize with other threads and free
  // memory. Attributes inferred before the pass ran (memory(none), nosync,
  // nofree) would let a later pass (LTO's) delete or merge calls to F and
  // with them the hooks.
  F.removeFnAttr(Attribute::Memory); // no attribute = may touch any memory
  F.removeFnAttr(Attribute::NoSync);
  F.removeFnAttr(Attribute::NoFree);
  F.addFnAttr(InstrumentedAttr);
}

void instrument(Function &F, const Hooks &H, GlobalVariable *ModuleInfo, uint32_t Index) {
  LLVMContext &Ctx = F.getContext();
  Value *ModuleArg = ModuleInfo;
  Value *IndexArg = ConstantInt::get(Type::getInt32Ty(Ctx), Index);
  // Line 0 says "compiler-generated" while keeping the call in the function's
  // scope, as the verifier wants for calls in functions with debug info.
  DebugLoc Loc;
  if (DISubprogram *SP = F.getSubprogram())
    Loc = DILocation::get(Ctx, 0, 0, SP);
  SmallVector<Instruction *, 8> ExitPoints = exitPoints(F);

  // `notail`: a pass that runs later (LLVM 19 runs the ThinLTO and full-LTO
  // link-time optimizers over modules instrumented at compile time) must not
  // turn the exit hook into a sibling call run after the function's
  // epilogue: the activation's measured interval ends inside the function.
  // The frame address is computed right before each hook rather than once
  // for all: one add to the stack pointer at each, instead of a register
  // held across the whole function.
  auto EmitHook = [&](IRBuilder<> &B, FunctionCallee Hook) {
    B.SetCurrentDebugLocation(Loc);
    Value *Frame = B.CreateIntrinsic(H.FrameAddress, {PointerType::getUnqual(Ctx)}, {});
    Frame->setName("zinst.frame");
    B.CreateCall(Hook, {ModuleArg, IndexArg, Frame})->setTailCallKind(CallInst::TCK_NoTail);
  };

  BasicBlock &Entry = F.getEntryBlock();
  // An iterator insertion point (not an Instruction *) places the calls
  // before any debug records attached to the first instruction.
  IRBuilder<> EntryBuilder(&Entry, Entry.getFirstInsertionPt());
  EmitHook(EntryBuilder, H.Enter);
  for (Instruction *Point : ExitPoints) {
    IRBuilder<> ExitBuilder(Point);
    EmitHook(ExitBuilder, H.Exit);
  }
  markInstrumented(F);
}

} // namespace

FunctionInstrumenterPass::FunctionInstrumenterPass(Expected<Options> Parsed) {
  if (Parsed)
    Opts = std::move(*Parsed);
  else
    OptionsError = toString(Parsed.takeError());
}

PreservedAnalyses FunctionInstrumenterPass::run(Module &M, ModuleAnalysisManager &) {
  if (!OptionsError.empty()) {
    // An error diagnostic: clang fails the compile, opt exits non-zero.
    M.getContext().emitError(OptionsError);
    return PreservedAnalyses::all();
  }
  if (Opts.Disabled)
    return PreservedAnalyses::all();
  // Inline code makes each function some 40 instructions bigger; before
  // the link-time inliner (and ThinLTO's importer, which counts
  // instructions) decides, that would change its decisions. The hooks add
  // two calls. So LTO bitcode on LLVM 19 gets the hooks unless the build
  // asked for inline code.
  bool InlineTree = Opts.InlineTree, InlineTime = Opts.InlineTime;
  if (InlineTree && !Opts.CodeChosen && compat::mayPrecedeLinkTimeInliner(M))
    InlineTree = InlineTime = false;

  std::vector<FunctionDescription> Selected, CountOnly;
  for (Function &F : M) {
    if (mustSkip(F))
      continue;
    FunctionDescription Desc = describeFunction(F);
    if (!Opts.selects(Desc.DisplayName, F.getName(), Desc.File, F.getInstructionCount()))
      continue;
    Desc.Library = Opts.isLibraryFile(Desc.File);
    (Opts.countsOnly(Desc.DisplayName, F.getName()) ? CountOnly : Selected)
        .push_back(std::move(Desc));
  }
  // The inline and call sites recorded during the pipeline share the
  // module's descriptor (InlineSiteCounters.h). Collected after the
  // selection above, so that their increments never count towards
  // -zinst-min-size. Count-only functions are sites of that table too.
  InlineSiteLowering Sites(M);
  for (const FunctionDescription &Desc : CountOnly) {
    Sites.addEntryCounter(Desc);
    Desc.Function->addFnAttr(InstrumentedAttr);
  }
  if (Selected.empty() && Sites.empty())
    return Sites.changedIR() ? PreservedAnalyses::none() : PreservedAnalyses::all();

  std::optional<Intrinsic::ID> FrameAddress = frameAddressIntrinsic(M);
  // Inline trees without timing need no frame address: every target has them.
  if (!Selected.empty() && !FrameAddress && (!InlineTree || InlineTime)) {
    M.getContext().emitError("zinst: cannot instrument functions for target '" +
                             Triple(M.getTargetTriple()).str() +
                             "': " + (InlineTree ? "inline timing" : "the hooks") +
                             " need the frame address, available on x86-64 and AArch64 only");
    return PreservedAnalyses::all();
  }
  // Calls whose count the tree holds get no counter: with the functions'
  // indices, before the table is emitted.
  std::vector<Function *> WithEntryCodeInOrder;
  std::vector<SmallVector<Instruction *, 8>> ExitPointsOf; // by index in Selected
  SmallPtrSet<const Instruction *, 32> FrameEnds;
  for (const FunctionDescription &Desc : Selected) {
    WithEntryCodeInOrder.push_back(Desc.Function);
    ExitPointsOf.push_back(exitPoints(*Desc.Function));
    FrameEnds.insert(ExitPointsOf.back().begin(), ExitPointsOf.back().end());
  }
  Sites.countFromTree(WithEntryCodeInOrder, FrameEnds);
  Sites.shareCounters();
  // Calls in library code, and calls of library code, are flagged by the
  // same rule as functions: by the file the call, or the callee, is written
  // in, whatever was inlined into what.
  std::vector<SiteDecision> SiteRows(Sites.rows().begin(), Sites.rows().end());
  for (SiteDecision &Site : SiteRows) {
    if (Opts.isLibraryFile(Site.File))
      Site.Flags |= ZINST_SITE_INFO_LIBRARY;
    if (Opts.isLibraryFile(Site.CalleeFile))
      Site.Flags |= ZINST_SITE_INFO_CALLEE_LIBRARY;
  }
  GlobalVariable *ModuleInfo = emitModuleTable(M, Selected, SiteRows,
                                               (InlineTree ? ZINST_MODULE_INLINE_TREE : 0) |
                                                   (InlineTime ? ZINST_MODULE_INLINE_TIME : 0));
  if (InlineTree) {
    InlineContextRuntime RT = declareInlineContextRuntime(
        M, ModuleInfo, InlineTime ? *FrameAddress : Intrinsic::not_intrinsic);
    for (size_t Index = 0; Index < Selected.size(); ++Index) {
      Function &F = *Selected[Index].Function;
      emitInlineContextTree(F, static_cast<uint32_t>(Index), ExitPointsOf[Index], RT);
      markInstrumented(F);
    }
  } else {
    Hooks H = declareHooks(M, FrameAddress.value_or(Intrinsic::not_intrinsic));
    for (size_t Index = 0; Index < Selected.size(); ++Index)
      instrument(*Selected[Index].Function, H, ModuleInfo, static_cast<uint32_t>(Index));
  }
  SmallPtrSet<const Function *, 32> WithEntryCode;
  for (const FunctionDescription &Desc : Selected)
    WithEntryCode.insert(Desc.Function);
  Sites.lower(ModuleInfo, WithEntryCode);
  return PreservedAnalyses::none();
}

} // namespace zinst
