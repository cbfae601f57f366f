//===- InlineSiteCounters.h - per-site counters at the end of the pipeline -===//
//
// At OptimizerLast, after every inlining decision of the compile, turns the
// recorded sites (InlineSiteTable.h) into what the runtime reads:
//
//  - the module's site table (ModuleTable.h: struct zinst_site_info rows,
//    in a module descriptor of their own);
//  - each marker (an inlined site's body, wherever unrolling, vectorization
//    or the caller's own inlining copied it) becomes an increment of the
//    thread's counter of its site, and so does each call that was not
//    inlined and still carries its site (a counter right before the call):
//
//      ; once, in the nearest block that dominates all of the function's
//      ; sites, outside loops, and not above its own code:
//      %counters = load ptr, ptr @__zinst_site_counters   ; initial-exec TLS
//      %base = load i32, module.site_base
//      %sites = %counters ? %counters + %base
//                         : call @__zinst_site_counters_slow(@module)  ; cold
//      ; at each site i:
//      %sites[i] += 1
//
// The increment is an ordinary load/add/store of the thread's own memory
// at a constant offset: no atomics, no locks, no test, no call. The one
// test per function also keeps the code generator's work small: a test per
// site split blocks, and those splits were nine tenths of the plugin's
// compile time (README "Benchmarks"). On x86-64 and AArch64 the cold call
// goes through a preserve_most thunk of the module, which clobbers no
// register the allocator must work around.
//
// A count-only function (ZINST_COUNT_ONLY) gets the same increment at its
// entry, of a row of its own flagged ZINST_SITE_INFO_ENTRY: one exact count
// of its calls from anywhere, instead of the enter/exit hooks.
//
// Sites whose code was deleted (dead code, a caller inlined everywhere and
// removed) stay in the table, uncounted: their decisions are still worth
// reading. Sites beyond ZINST_MAX_MODULE_SITES are kept uncounted.
//
// Idempotent: markers and tags are consumed, and the module's site list is
// removed once emitted. The function instrumenter drives it (one module
// descriptor holds functions and sites).
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_INLINESITECOUNTERS_H
#define ZINST_PASS_INLINESITECOUNTERS_H

#include "InlineSiteTable.h"
#include "ModuleTable.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <vector>

namespace llvm {
class Function;
class GlobalVariable;
class Instruction;
class Module;
} // namespace llvm

namespace zinst {

/// Used by FunctionInstrumenterPass, so that one module descriptor carries
/// both the module's functions and its sites:
///
///   InlineSiteLowering Sites(M);            // settle and collect
///   ModuleInfo = emitModuleTable(M, Functions, Sites.rows());
///   Sites.lower(ModuleInfo);                // the increments
class InlineSiteLowering {
public:
  /// Settles always_inline sites, then collects M's sites (the table rows,
  /// COUNTED set where a counter will exist) and the places to count them.
  explicit InlineSiteLowering(llvm::Module &M);

  bool empty() const { return Rows.empty(); }
  llvm::ArrayRef<SiteDecision> rows() const { return Rows; }
  /// True if constructing this object already changed the IR.
  bool changedIR() const { return Changed; }

  /// Adds the entry counter of count-only function F (no hooks): a row
  /// flagged ENTRY naming F, counted at F's entry, after its static allocas.
  void addEntryCounter(const FunctionDescription &F);

  /// Flags COUNTED sites of calls that were not inlined, whose count the
  /// calling-context tree holds exactly, ZINST_SITE_INFO_TREE: they get no
  /// counter (zinst_abi.h). WithEntryCode: the functions that get the hooks
  /// or the inline context code, in the order of their module-local
  /// indices; ExitPoints: where their frames end (a call there, a sibling
  /// call, runs in the caller's caller's context). Call before rows() is
  /// emitted, and before lower().
  void countFromTree(llvm::ArrayRef<llvm::Function *> WithEntryCode,
                     const llvm::SmallPtrSetImpl<const llvm::Instruction *> &ExitPoints);

  /// Lets sites that run exactly as often share one counter. Points of one
  /// basic block with nothing between them that may not come back (a call
  /// that may exit, longjmp or unwind) run alike; sites whose points lie in
  /// the same such runs count alike. The first of them keeps its counter;
  /// the others get SharedCounter and no increment. In straight-line code
  /// of inlined helpers (a compressor's bit writer, copied wherever the
  /// writer was inlined) six adds to memory in a row became two. Call
  /// after countFromTree, before rows() is emitted and before lower().
  void shareCounters();

  /// Replaces markers and tags by increments of the counters of ModuleInfo
  /// (the descriptor emitModuleTable returned for rows()), and removes the
  /// module's site list. WithEntryCode: the functions that got the hooks or
  /// the inline context code, which run before their counters' address is
  /// computed (it then needs no test). Call once.
  void lower(llvm::GlobalVariable *ModuleInfo,
             const llvm::SmallPtrSetImpl<const llvm::Function *> &WithEntryCode);

private:
  struct CounterPoint {
    llvm::Instruction *At; // a marker (replaced) or a call (counted before it)
    uint32_t Index;        // the site's row
    bool FromTree = false; // counted from the tree: no increment (countFromTree)
  };
  llvm::Module &M;
  std::vector<SiteDecision> Rows;
  std::vector<CounterPoint> Points;
  /// Lowered before Points: an entry counter's instruction may be a marker
  /// or a tagged call that lowering Points erases or rewrites.
  std::vector<CounterPoint> EntryPoints;
  /// Per function with a point: the first instruction of its own code (after
  /// its static allocas), taken before the instrumenter adds its entry
  /// code. The address of the thread's counters is computed right there,
  /// after the hooks or the inline context code.
  llvm::DenseMap<llvm::Function *, llvm::Instruction *> BodyStarts;
  bool Changed = false;
};

/// True for targets whose code generator has the preserve_most calling
/// convention (LLVM 19 has it for x86-64 and AArch64, not for RISC-V), used
/// for the cold calls of inline code. A module without a triple is compiled
/// for the host.
bool targetHasPreserveMost(const llvm::Module &M);

} // namespace zinst

#endif // ZINST_PASS_INLINESITECOUNTERS_H
