//===- InlineContextTree.h - the calling-context tree in inline code ------===//
//
// With -zinst-inline-tree a function gets no hook calls: it keeps the
// thread's calling-context tree itself, in a few instructions at entry and
// one store on every way out (runtime/zinst_abi.h has the contract):
//
//   entry:
//     %cur  = load ptr, @__zinst_context               ; initial-exec TLS
//     %id   = load atomic i32, @module.function_ids[Index]  ; id_base + Index
//     %last = load atomic ptr, %cur + RECENT_CHILDREN + 8 * (Index & 7)
//     %fn   = load i32, %last + FUNCTION                ; %last never null
//     br (%fn == %id), %found, %second
//   second:                      ; the second slot, (Index >> 3) & 7, when
//     ...                        ; it is not the first: br %found, %miss
//   found:                                             ; the common case
//     %last.calls += 1
//     store %last, @__zinst_context
//   miss:                                              ; cold
//     %new = call preserve_most @__zinst_context_miss(@module, Index, %cur)
//   ...
//   store %cur, @__zinst_context                       ; before every exit
//
// Both slots are constants: id_base is a multiple of 64. There is no test
// for registration: until the runtime registers the module and writes its
// ids, they are 2^31 + Index, which no node has, so its calls miss and the
// runtime registers it.
//
// `store %mine, @__zinst_context` (the function's own context) follows
// every call that returns twice and starts every landing pad, where
// longjmp or an exception arrives with the context of a frame it skipped.
//
// A leaf, a function that calls nothing (isLeaf), stores no context: no
// function reads it before the leaf returns. It counts its call in its own
// context and leaves its caller's current; after a miss, which made its
// own current, it stores %cur back. A signal handler that interrupts it
// runs as its caller's callee.
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
//   found:                                             ; after the count
//     %last.untimed_left -= 1                          ; decq, and then
//     br (%last.untimed_left < 0), %slow, %body        ; js: rare
//   slow:                                              ; cold: a miss, or
//     %due = phi [null, miss], [%last, found]          ; a due call
//     %new = call preserve_most @__zinst_context_miss_or_due(@module,
//                                            Index, %cur, %due, frame)
//   body:
//   ...
//   if (@__zinst_timed_frame <= frame)                 ; on every way out
//     call preserve_most @__zinst_timed_exit(frame)
//   store %cur, @__zinst_context                       ; unless a leaf
//
// The runtime keeps @__zinst_timed_frame, the frame address of the
// thread's innermost timed activation, so that no flag and no node stay
// live across the body; one below `frame` was abandoned by a longjmp or an
// exception, and this exit ends it.
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
  llvm::GlobalVariable *FunctionIds = nullptr; // the module's function_ids
  // __zinst_context_miss (__zinst_context_miss_or_due with inline timing),
  // or __zinst_context_enter where the target has no preserve_most.
  llvm::FunctionCallee SlowPath;
  bool SlowPathIsPreserveMost = false;
  // Inline timing (-zinst-inline-time); null without it.
  llvm::GlobalVariable *TimedFrame = nullptr; // __zinst_timed_frame, initial-exec TLS
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
