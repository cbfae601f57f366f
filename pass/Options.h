//===- Options.h - what the user asked zinst to instrument ----------------===//
//
// Every option exists twice: as a cl::opt (for `opt`, and for clang with
// `-fplugin=libzinst.so -mllvm ...`) and as an environment variable (for
// clang with only `-fpass-plugin=`, whose -mllvm options never reach a plugin
// loaded that way). An option given on the command line wins over the
// environment.
//
//   -zinst-disable           ZINST_DISABLE=1        the pass changes nothing
//   -zinst-include=G[,G...]  ZINST_INCLUDE          only functions whose
//                                                   display or linkage name
//                                                   matches one glob
//   -zinst-exclude=G[,G...]  ZINST_EXCLUDE          never those functions
//   -zinst-include-file=...  ZINST_INCLUDE_FILE     only functions whose source
//                                                   file path matches one glob
//   -zinst-exclude-file=...  ZINST_EXCLUDE_FILE     never those files
//   -zinst-min-size=N        ZINST_MIN_SIZE         skip functions of fewer
//                                                   than N IR instructions
//   -zinst-count-only=G[,G...] ZINST_COUNT_ONLY     of the functions selected,
//                                                   these get no hooks but a
//                                                   counter of their calls at
//                                                   entry (InlineSiteCounters.h)
//   -zinst-inline-tree     ZINST_INLINE_TREE=1  no hooks: each function
//                                                   keeps the calling-context
//                                                   tree and exact counts in
//                                                   inline code; no time
//                                                   (InlineContextTree.h)
//   -zinst-library-dir=D[,D...] ZINST_LIBRARY_DIRS  functions whose source file
//                                                   lies under one of these
//                                                   directories are marked as
//                                                   library code (Zig's std);
//                                                   reports group them
//
// Globs are llvm::GlobPattern (`*`, `?`, `[a-z]`, `{a,b}`, `\` escapes); a
// list is split at the commas that are not inside `{}` or `[]`.
//
//===----------------------------------------------------------------------===//
#ifndef ZINST_PASS_OPTIONS_H
#define ZINST_PASS_OPTIONS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/GlobPattern.h"

#include <memory>
#include <string>
#include <vector>

namespace zinst {

/// The globs of one list option. Owns the option's text: since LLVM 21 a
/// GlobPattern keeps a StringRef into the text it was created from, so the
/// text lives as long as the patterns, at an address that moving the list
/// does not change. Movable, not copyable.
struct GlobList {
  std::unique_ptr<std::string> Text;
  std::vector<llvm::GlobPattern> Globs;

  bool empty() const { return Globs.empty(); }
  bool matches(llvm::StringRef Subject) const;
};

struct Options {
  bool Disabled = false;
  GlobList IncludeNames;
  GlobList ExcludeNames;
  GlobList IncludeFiles;
  GlobList ExcludeFiles;
  unsigned MinInstructions = 0;
  GlobList CountOnlyNames;
  /// What the instrumented code is (README, "Options"): inline timing by
  /// default; the inline tree without time (-zinst-inline-tree); or calls
  /// of the hooks (-zinst-inline-tree=false, ZINST_INLINE_TREE=0).
  bool InlineTree = true;
  bool InlineTime = true; // with InlineTree: sampled timing in the inline code
  /// False when InlineTree and InlineTime are the default, not a choice (see
  /// FunctionInstrumenterPass: LTO bitcode on LLVM 19 gets the hooks then).
  bool CodeChosen = false;
  std::vector<std::string> LibraryDirs; // without trailing '/'

  /// Reads the cl::opt values and the environment. A malformed value (bad
  /// glob, non-number, unknown boolean) is an error naming the option and the
  /// value. When the pass is disabled no other option is read, so a disabled
  /// build never fails because of them.
  static llvm::Expected<Options> fromCommandLineAndEnvironment();

  /// True when the filters select a function with these names, source file
  /// path and size (IR instructions).
  bool selects(llvm::StringRef DisplayName, llvm::StringRef LinkageName, llvm::StringRef File,
               unsigned InstructionCount) const;

  /// True when a selected function with these names gets an entry counter
  /// instead of hooks (display or linkage name matches -zinst-count-only).
  bool countsOnly(llvm::StringRef DisplayName, llvm::StringRef LinkageName) const;

  /// True when File lies under one of LibraryDirs (a path prefix ending at a
  /// '/', so /zig/lib does not claim /zig/library).
  bool isLibraryFile(llvm::StringRef File) const;
};

} // namespace zinst

#endif // ZINST_PASS_OPTIONS_H
