//===- InlineContextTree.h - the calling-context tree in inline code ------===//
//
// With -zinst-inline-tree a function gets no hook calls: it keeps the
// thread's calling-context tree itself, in a few instructions at entry and
// one store on every way out (runtime/zinst_abi.h has the contract):
//
//   entry:
//     %cur  = load ptr, @__zinst_context               ; initial-exec TLS
//     %base = load atomic i32, @module.id_base
//     %id   = %base + Index
//     %last = load atomic ptr, %cur + RECENT_CHILDREN + 8 * (%id & 7)
//     %fn   = load i32, %last + FUNCTION                ; %last never null
//     br (%base != 0 && %fn == %id), %fast, %slow
//   fast:                                              ; the common case
//     %last.calls += 1
//     store %last, @__zinst_context
//   slow:                                              ; cold
//     %new = call preserve_most @__zinst_context_miss(@module, Index, %cur)
//   ...
//   store %cur, @__zinst_context                       ; before every exit
//
// and `store %mine, @__zinst_context` (the function's own context) after
// every call that returns twice and at every landing pad, where longjmp or
// an exception arrives with the context of a frame it skipped.
//
// No clock is read, so no time is recorded: this is the count-only mode
// at the cost of a counter and a pointer, not of two calls.
//
// With -zinst-inline-time the code also keeps the context's timing
// schedule: the count from which its next activation is timed, which the
// runtime sets (the context's exact stratum, then one call in a random
// interval). Only those activations call the runtime (zinst_abi.h,
// ZINST_MODULE_INLINE_TIME):
//
//   body.head:                      ; %mine: the function's own context
//     br (%mine.calls >= %mine.timed_from), %timed, %body
//   timed:                                             ; cold
//     %on = call preserve_most @__zinst_timed_enter(%mine, frame)
//   body:
//     %timed = phi [0, head], [%on, timed]
//   ...
//   if (%timed) call preserve_most @__zinst_timed_exit(%mine, frame)
//   store %cur, @__zinst_context                       ; before every exit
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_INLINECONTEXTTREE_H
#define ZINST_PASS_INLINECONTEXTTREE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Instruction.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

#include <cstdint>

namespace zinst {

/// What the inline code of one module refers to.
struct InlineContextRuntime {
  llvm::GlobalVariable *Context = nullptr; // __zinst_context, initial-exec TLS
  llvm::GlobalVariable *ModuleInfo = nullptr;
  llvm::FunctionCallee SlowPath;       // __zinst_context_miss, or __zinst_context_enter
  bool SlowPathIsPreserveMost = false; // __zinst_context_miss, where the target has it
  // Inline timing (-zinst-inline-time); null without it.
  llvm::GlobalVariable *TimedFrame = nullptr; // __zinst_timed_frame, initial-exec TLS
  llvm::FunctionCallee TimedEnter;            // __zinst_timed_enter, preserve_most
  llvm::FunctionCallee TimedExit;             // __zinst_timed_exit, preserve_most
  llvm::FunctionCallee TimedReenter;          // __zinst_timed_reenter, preserve_most
  llvm::Intrinsic::ID FrameAddress = llvm::Intrinsic::not_intrinsic;
};

/// Declares the runtime's symbols in M: the slow path is the runtime's
/// preserve_most entry point where the target has that calling convention.
/// With a FrameAddress intrinsic (frameAddressIntrinsic), also those of
/// inline timing.
InlineContextRuntime declareInlineContextRuntime(llvm::Module &M, llvm::GlobalVariable *ModuleInfo,
                                                 llvm::Intrinsic::ID FrameAddress);

/// Instruments F, the module's function Index, whose ways out are ExitPoints
/// (the instructions before which its frame ends).
void emitInlineContextTree(llvm::Function &F, uint32_t Index,
                           llvm::ArrayRef<llvm::Instruction *> ExitPoints,
                           const InlineContextRuntime &RT);

} // namespace zinst

#endif // ZINST_PASS_INLINECONTEXTTREE_H
