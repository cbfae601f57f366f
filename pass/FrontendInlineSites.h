//===- FrontendInlineSites.h - calls the Zig compiler inlined itself ------===//
//
// Zig's `inline fn` and `@call(.always_inline, f, args)` are inlined by Zig's
// own front end (Sema): LLVM never sees a call, so neither its inliner nor
// zinst's advisor (InlineDecisionRecorder.h) can record them. What remains in
// Zig's unoptimized bitcode are debug locations: every instruction of an
// inlined body carries `inlinedAt` (the call), and Zig gives each inlined
// call a DISubprogram of its own. An instance is therefore one (DISubprogram
// of the inlined scope, inlinedAt location) pair; nested calls chain
// inlinedAt, so an instruction belongs to every instance of its chain.
// (`inlinedAt` alone does not name an instance: the iterations of a
// comptime-unrolled `inline for` share it, with one DISubprogram each.)
//
// At PipelineStart, before LLVM optimizes anything, this pass gives every
// instance in a Zig function a site (InlineSiteTable.h): inlined, by the
// always-inline rule, at the file:line:column of the call, caller and callee
// named as the function table names them. It puts the site's marker before
// the instance's entry: the first instruction of the instance in the block
// that dominates all of the instance's blocks, once a check on the CFG
// proves that this instruction runs exactly once each time the inlined body
// is entered (a loop at the start of the body must not count per iteration;
// a body that is left and re-entered without passing the entry must not be
// under-counted). When no such instruction exists the site is recorded as
// not counted: no number rather than a wrong one. From there the marker is
// like every other: it survives optimization and becomes a counter
// increment at OptimizerLast (InlineSiteCounters.h).
//
// What gets no site: an instance without a single instruction (Zig computed
// the call entirely at compile time, so no code of it runs), and calls of
// zinst's own Zig API (zig-integration/zinst.zig, functions `zinst.*`),
// which must stay invisible as the C API's calls do.
//
// Only code whose compile unit Zig produced is considered, and only at
// PipelineStart (Plugin.cpp), never after LTO's link: elsewhere `inlinedAt`
// means LLVM's own inlining. A module that LLVM already optimized (Zig's
// -femit-llvm-bc output with Zig 0.17 is optimized bitcode) is recognized by
// inlined scopes that LLVM's inliner shares (a DISubprogram attached to a
// function, or used by two calls); then the pass records nothing and warns.
// Idempotent: a module it ran on is marked (`zinst.frontend.inlines`).
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_FRONTENDINLINESITES_H
#define ZINST_PASS_FRONTENDINLINESITES_H

#include "llvm/IR/PassManager.h"

namespace zinst {

class FrontendInlineSitesPass : public llvm::PassInfoMixin<FrontendInlineSitesPass> {
public:
  llvm::PreservedAnalyses run(llvm::Module &M, llvm::ModuleAnalysisManager &MAM);
  /// Zig's Debug mode runs the O0 pipeline, where every pass that may be
  /// skipped is.
  static bool isRequired() { return true; }
};

} // namespace zinst

#endif // ZINST_PASS_FRONTENDINLINESITES_H
