//===- Options.cpp - command-line and environment options of zinst --------===//
#include "Options.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <cstdlib>
#include <optional>
#include <string>

using namespace llvm;

namespace zinst {
namespace {

cl::opt<bool> DisableOpt("zinst-disable",
                         cl::desc("zinst: instrument nothing (env ZINST_DISABLE=1)"));

cl::opt<std::string>
    IncludeOpt("zinst-include", cl::value_desc("glob[,glob...]"),
               cl::desc("zinst: only instrument functions whose display or linkage name "
                        "matches one of the globs (env ZINST_INCLUDE)"));

cl::opt<std::string> ExcludeOpt("zinst-exclude", cl::value_desc("glob[,glob...]"),
                                cl::desc("zinst: never instrument functions whose display or "
                                         "linkage name matches one of the globs (env "
                                         "ZINST_EXCLUDE)"));

cl::opt<std::string>
    IncludeFileOpt("zinst-include-file", cl::value_desc("glob[,glob...]"),
                   cl::desc("zinst: only instrument functions whose source file path matches "
                            "one of the globs (env ZINST_INCLUDE_FILE)"));

cl::opt<std::string>
    ExcludeFileOpt("zinst-exclude-file", cl::value_desc("glob[,glob...]"),
                   cl::desc("zinst: never instrument functions whose source file path "
                            "matches one of the globs (env ZINST_EXCLUDE_FILE)"));

cl::opt<unsigned> MinSizeOpt("zinst-min-size", cl::value_desc("N"),
                             cl::desc("zinst: skip functions with fewer than N IR "
                                      "instructions when the pass runs (env ZINST_MIN_SIZE)"));

cl::opt<std::string> CountOnlyOpt(
    "zinst-count-only", cl::value_desc("glob[,glob...]"),
    cl::desc("zinst: give the selected functions whose display or linkage name matches one of "
             "the globs no hooks, only an exact count of their calls (env ZINST_COUNT_ONLY)"));

cl::opt<bool> InlineTreeOpt(
    "zinst-inline-tree",
    cl::desc("zinst: keep exact call counts and the calling-context tree in code inlined into "
             "each function and record no time; =false calls the hooks instead "
             "(env ZINST_INLINE_TREE=1, ZINST_INLINE_TREE=0)"));

cl::opt<bool> InlineTimeOpt(
    "zinst-inline-time",
    cl::desc("zinst: the default: the inline tree with sampled timing decided in the inline "
             "code; only timed activations call the runtime (env ZINST_INLINE_TREE=time)"));

cl::opt<std::string>
    LibraryDirOpt("zinst-library-dir", cl::value_desc("dir[,dir...]"),
                  cl::desc("zinst: mark functions whose source file lies under one of these "
                           "directories as library code (env ZINST_LIBRARY_DIRS)"));

/// One option's raw text and where it came from, for error messages.
struct Setting {
  std::string Text;
  std::string Source; // "-zinst-include" or "ZINST_INCLUDE"
};

/// The command line wins; an unset or empty environment variable is absent.
template <typename T>
std::optional<Setting> lookup(const cl::opt<T> &Opt, const char *EnvName,
                              const std::string &CommandLineText) {
  if (Opt.getNumOccurrences() > 0)
    return Setting{CommandLineText, "-" + Opt.ArgStr.str()};
  const char *Env = std::getenv(EnvName);
  if (Env == nullptr || *Env == '\0')
    return std::nullopt;
  return Setting{Env, EnvName};
}

Error badValue(const Setting &S, const Twine &Problem) {
  return createStringError(inconvertibleErrorCode(), Twine("zinst: bad value '") + S.Text +
                                                         "' for " + S.Source + ": " + Problem);
}

/// Splits a glob list at the commas that separate globs: a comma inside a
/// `{a,b}` alternation or a `[...]` class, or escaped with `\`, belongs to the
/// glob (C++ display names such as `f(int, int)` can be matched as `f(int\, int)`
/// or with `?`).
SmallVector<StringRef, 4> splitGlobList(StringRef List) {
  SmallVector<StringRef, 4> Items;
  size_t Start = 0;
  unsigned BraceDepth = 0;
  bool InClass = false;
  for (size_t I = 0; I < List.size(); ++I) {
    char C = List[I];
    if (C == '\\') {
      ++I; // the next character is literal
    } else if (InClass) {
      if (C == ']')
        InClass = false;
    } else if (C == '[') {
      InClass = true;
      // A `]` right after `[`, `[^` or `[!` is a literal member of the class.
      if (I + 1 < List.size() && (List[I + 1] == '^' || List[I + 1] == '!'))
        ++I;
      if (I + 1 < List.size() && List[I + 1] == ']')
        ++I;
    } else if (C == '{') {
      ++BraceDepth;
    } else if (C == '}' && BraceDepth > 0) {
      --BraceDepth;
    } else if (C == ',' && BraceDepth == 0) {
      Items.push_back(List.slice(Start, I));
      Start = I + 1;
    }
  }
  Items.push_back(List.substr(Start));
  return Items;
}

/// Fills List from the option; on error List is left partly filled.
Error parseGlobs(const cl::opt<std::string> &Opt, const char *EnvName, GlobList &List) {
  std::optional<Setting> S = lookup(Opt, EnvName, Opt.getValue());
  if (!S || S->Text.empty())
    return Error::success();
  List.Text = std::make_unique<std::string>(S->Text);
  for (StringRef Item : splitGlobList(*List.Text)) {
    if (Item.empty())
      return badValue(*S, "empty pattern in the list");
    // Brace expansion is opt-in in GlobPattern; 1024 alternatives is far more
    // than a hand-written filter needs and bounds the matcher's memory.
    Expected<GlobPattern> Glob = GlobPattern::create(Item, /*MaxSubPatterns=*/1024);
    if (!Glob)
      return badValue(*S, "pattern '" + Item + "': " + toString(Glob.takeError()));
    List.Globs.push_back(std::move(*Glob));
  }
  return Error::success();
}

/// The boolean a word of the environment spells, if it spells one.
std::optional<bool> boolWord(StringRef Word) {
  std::string Text = Word.lower();
  if (Text == "1" || Text == "true" || Text == "yes" || Text == "on")
    return true;
  if (Text == "0" || Text == "false" || Text == "no" || Text == "off")
    return false;
  return std::nullopt;
}

Expected<bool> parseBool(const cl::opt<bool> &Opt, const char *EnvName) {
  std::optional<Setting> S = lookup(Opt, EnvName, Opt.getValue() ? "true" : "false");
  if (!S)
    return false;
  if (Opt.getNumOccurrences() > 0)
    return Opt.getValue();
  if (std::optional<bool> Value = boolWord(S->Text))
    return *Value;
  return badValue(*S, "expected 1/true/yes/on or 0/false/no/off");
}

/// -zinst-inline-time, -zinst-inline-tree, or ZINST_INLINE_TREE: `time`
/// (inline timing, the default), a true boolean (the inline tree without
/// time) or a false one (the hooks).
Error parseInlineTree(Options &Opts) {
  auto Choose = [&Opts](bool Tree, bool Time) {
    Opts.InlineTree = Tree;
    Opts.InlineTime = Time;
    Opts.CodeChosen = true;
    return Error::success();
  };
  bool TreeGiven = InlineTreeOpt.getNumOccurrences() > 0;
  if (InlineTimeOpt.getNumOccurrences() > 0)
    return InlineTimeOpt.getValue() ? Choose(true, true)
                                    : Choose(TreeGiven && InlineTreeOpt.getValue(), false);
  if (TreeGiven)
    return Choose(InlineTreeOpt.getValue(), false);
  std::optional<Setting> S = lookup(InlineTreeOpt, "ZINST_INLINE_TREE", "time");
  if (!S)
    return Error::success();
  if (StringRef(S->Text).equals_insensitive("time"))
    return Choose(true, true);
  std::optional<bool> Value = boolWord(S->Text);
  if (!Value)
    return badValue(*S, "expected time, 1/true/yes/on (no time) or 0/false/no/off (the hooks)");
  return Choose(*Value, false);
}

Expected<unsigned> parseMinSize() {
  std::optional<Setting> S = lookup(MinSizeOpt, "ZINST_MIN_SIZE", utostr(MinSizeOpt.getValue()));
  if (!S)
    return 0;
  if (MinSizeOpt.getNumOccurrences() > 0)
    return MinSizeOpt.getValue(); // cl::opt<unsigned> already rejected non-numbers
  unsigned Value = 0;
  if (StringRef(S->Text).getAsInteger(10, Value))
    return badValue(*S, "expected a non-negative instruction count");
  return Value;
}

/// Directories are plain path prefixes, not globs: Zig's lib directory may
/// contain any character a path can.
Error parseLibraryDirs(std::vector<std::string> &Dirs) {
  std::optional<Setting> S = lookup(LibraryDirOpt, "ZINST_LIBRARY_DIRS", LibraryDirOpt.getValue());
  if (!S || S->Text.empty())
    return Error::success();
  SmallVector<StringRef, 4> Items;
  StringRef(S->Text).split(Items, ',');
  for (StringRef Item : Items) {
    Item = Item.rtrim('/');
    if (Item.empty())
      return badValue(*S, "empty directory in the list (the root directory is not allowed)");
    Dirs.push_back(Item.str());
  }
  return Error::success();
}

} // namespace

bool GlobList::matches(StringRef Subject) const {
  for (const GlobPattern &Glob : Globs)
    if (Glob.match(Subject))
      return true;
  return false;
}

Expected<Options> Options::fromCommandLineAndEnvironment() {
  Options Opts;
  Expected<bool> Disabled = parseBool(DisableOpt, "ZINST_DISABLE");
  if (!Disabled)
    return Disabled.takeError();
  Opts.Disabled = *Disabled;
  if (Opts.Disabled)
    return std::move(Opts);
  if (Error E = parseGlobs(IncludeOpt, "ZINST_INCLUDE", Opts.IncludeNames))
    return std::move(E);
  if (Error E = parseGlobs(ExcludeOpt, "ZINST_EXCLUDE", Opts.ExcludeNames))
    return std::move(E);
  if (Error E = parseGlobs(IncludeFileOpt, "ZINST_INCLUDE_FILE", Opts.IncludeFiles))
    return std::move(E);
  if (Error E = parseGlobs(ExcludeFileOpt, "ZINST_EXCLUDE_FILE", Opts.ExcludeFiles))
    return std::move(E);
  Expected<unsigned> MinSize = parseMinSize();
  if (!MinSize)
    return MinSize.takeError();
  Opts.MinInstructions = *MinSize;
  if (Error E = parseGlobs(CountOnlyOpt, "ZINST_COUNT_ONLY", Opts.CountOnlyNames))
    return std::move(E);
  if (Error E = parseInlineTree(Opts))
    return std::move(E);
  if (Error E = parseLibraryDirs(Opts.LibraryDirs))
    return std::move(E);
  return std::move(Opts);
}

bool Options::selects(StringRef DisplayName, StringRef LinkageName, StringRef File,
                      unsigned InstructionCount) const {
  if (InstructionCount < MinInstructions)
    return false;
  if (!IncludeNames.empty() && !IncludeNames.matches(DisplayName) &&
      !IncludeNames.matches(LinkageName))
    return false;
  if (ExcludeNames.matches(DisplayName) || ExcludeNames.matches(LinkageName))
    return false;
  if (!IncludeFiles.empty() && !IncludeFiles.matches(File))
    return false;
  if (ExcludeFiles.matches(File))
    return false;
  return true;
}

bool Options::countsOnly(StringRef DisplayName, StringRef LinkageName) const {
  return CountOnlyNames.matches(DisplayName) || CountOnlyNames.matches(LinkageName);
}

bool Options::isLibraryFile(StringRef File) const {
  for (const std::string &Dir : LibraryDirs)
    if (File.size() > Dir.size() && File.starts_with(Dir) && File[Dir.size()] == '/')
      return true;
  return false;
}

} // namespace zinst
