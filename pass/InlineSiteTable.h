//===- InlineSiteTable.h - inlining decisions kept inside the IR ----------===//
//
// The inliner decides during the pipeline; the counters and the table the
// runtime reads are emitted at its end (InlineSiteCounters.h). In between
// the decisions live in the module itself, so that they travel wherever the
// code goes (cloned with it when a caller is inlined elsewhere, written to
// bitcode and merged by LTO) and no plugin-global state is needed:
//
//  - a site is one distinct MDTuple (SiteNode) holding its decision and a
//    64-bit id unique to the site; the named metadata `zinst.inline.sites`
//    lists every site of the module;
//  - a call the inliner left alone carries `!zinst.site !SiteNode`;
//  - where a callee's body was inlined, a marker counts its executions until
//    the end of the pipeline: `llvm.pseudoprobe(ProbeGUID, SiteId, 0, -1)`,
//    also carrying `!zinst.site`.
//
// Why a pseudo probe: it is the one instruction LLVM's own passes promise to
// treat as free and transparent while keeping it once per execution. The
// inline cost analysis skips it (CallAnalyzer::analyzeBlock, "skip
// pseudo-probes"), TTI costs it TCC_Free (so loop unrolling and the
// vectorizer's size heuristics ignore it), unrolling duplicates it with the
// body, and the loop vectorizer replicates it per vector lane and unrolled
// part rather than treating it as uniform ("so that the profiled loop trip
// count is not undercounted"). It has side effects on inaccessible memory
// only, so it is neither deleted nor hoisted out of loops. A real increment
// in its place would add about five instructions to every caller's inline
// cost; the marker adds nothing, so decisions made later (the caller's own
// cost when it is a callee) are those of a build without zinst
// (test/lit/inline-decisions.c).
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_INLINESITETABLE_H
#define ZINST_PASS_INLINESITETABLE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace llvm {
class CallBase;
class CallInst;
class Function;
class Instruction;
class MDTuple;
class Module;
} // namespace llvm

namespace zinst {

struct FunctionDescription;

/// The GUID argument that tells zinst's markers from sample-profiling probes
/// ("zinst-si" in ASCII).
constexpr uint64_t ProbeGUID = 0x7A696E73742D7369ull;

/// One decision, as the table in the binary will hold it. The flags are
/// runtime/zinst_abi.h's ZINST_SITE_INFO_* bits.
struct SiteDecision {
  std::string Caller, CallerLinkage, Callee, CalleeLinkage, File, Reason;
  /// The callee's source file (not in the table: it decides the
  /// CALLEE_LIBRARY flag when the table is emitted).
  std::string CalleeFile;
  unsigned Line = 0, Column = 0;
  uint32_t Flags = 0;
  int32_t Cost = 0, Threshold = 0;
  uint32_t CalleeInstructions = 0;
  /// With ZINST_SITE_INFO_TREE (set at lowering, never stored in the site's
  /// metadata): the module-local indices of caller and callee.
  uint32_t CallerIndex = 0, CalleeIndex = 0;
  /// Set at lowering (InlineSiteLowering::shareCounters): 0 when the site
  /// has its own counter, else 1 + the row of the site whose counter holds
  /// its count.
  uint32_t SharedCounter = 0;
};

/// Names and locates the call CB to Callee (caller and callee names as the
/// function table names them; file/line/column from the call's debug
/// location, the innermost one when the call itself was inlined).
SiteDecision describeCall(llvm::CallBase &CB, llvm::Function &Callee);
/// The same from what describeCall computes about the functions: their
/// descriptions (ModuleTable.h) and the callee's instruction count.
SiteDecision describeCall(llvm::CallBase &CB, llvm::Function &Callee,
                          const FunctionDescription &CallerDesc,
                          const FunctionDescription &CalleeDesc, uint32_t CalleeInstructions);

/// A new site holding Decision, listed in M's `zinst.inline.sites`.
llvm::MDTuple *createSite(llvm::Module &M, const SiteDecision &Decision);
/// Replaces the decision stored in Site (every attachment sees the update).
void updateSite(llvm::MDTuple *Site, const SiteDecision &Decision);
SiteDecision readSite(const llvm::MDTuple *Site);
uint64_t siteId(const llvm::MDTuple *Site);

/// The site attached to I (a tagged call or a marker), or null.
llvm::MDTuple *siteOf(const llvm::Instruction &I);
void attachSite(llvm::Instruction &I, llvm::MDTuple *Site);
void detachSite(llvm::Instruction &I);

/// Inserts a marker of Site right before Before (a call about to be
/// inlined, or the first instruction of a body Zig inlined).
llvm::CallInst *insertMarker(llvm::Instruction &Before, llvm::MDTuple *Site);
/// True for zinst's markers (pseudo probes with ProbeGUID).
bool isMarker(const llvm::Instruction &I);
/// The site id a marker carries in its index operand.
uint64_t markerSiteId(const llvm::Instruction &Marker);

/// The name of the named metadata listing every site of a module.
constexpr llvm::StringLiteral SiteListName = "zinst.inline.sites";
/// Present (empty) once zinst's inline advisor ran on a module: only then
/// are calls of functions without a definition counted as sites the
/// inliner skipped (a bare `opt -passes=zinst` adds no such counters).
constexpr llvm::StringLiteral InlinerRanName = "zinst.inliner.ran";

} // namespace zinst

#endif // ZINST_PASS_INLINESITETABLE_H
