# lit configuration of the zinst pass tests. Paths come from the
# lit.site.cfg.py that CMake writes into each build tree; run lit on that
# build directory, not on this source directory.
import os

import lit.formats

if not hasattr(config, "zinst_plugin"):
    lit_config.fatal(
        "run lit on the build tree (<build>/test/lit), which holds lit.site.cfg.py"
    )

config.name = "zinst-pass"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".ll", ".c", ".cpp"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = config.zinst_lit_source_dir
config.test_exec_root = config.zinst_lit_binary_dir

# lit starts tests with a clean environment; say so for the variables the
# pass reads, so a ZINST_* exported in the caller's shell can never leak in.
for name in list(config.environment):
    if name.startswith("ZINST_"):
        del config.environment[name]


def tool(name):
    path = os.path.join(config.llvm_tools_dir, name)
    if not os.path.exists(path):
        lit_config.fatal("missing LLVM tool: " + path)
    return path


plugin = config.zinst_plugin
config.substitutions.append(("%plugin", plugin))
config.substitutions.append(
    ("%opt-zinst", tool("opt") + " -load-pass-plugin=" + plugin + " ")
)
# The hooks build (-zinst-inline-tree=false), for the tests of the hooks;
# the default build is inline timing (inline-time.ll). Listed before
# %opt-zinst, which is its prefix.
config.substitutions.insert(
    0,
    ("%opt-zinst-hooks", tool("opt") + " -load-pass-plugin=" + plugin + " -zinst-inline-tree=false "),
)
config.substitutions.append(("%clang", config.zinst_clang))
config.substitutions.append(
    ("%zinst_runtime_dir", os.path.join(config.zinst_source_dir, "runtime"))
)
config.substitutions.append(("%opt", tool("opt")))
config.substitutions.append(("%llc", tool("llc")))
# FileCheck and not are resolved by PATH: the tools of THIS build's major
# come first.
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", "")]
)

config.available_features.add("llvm-%d" % config.llvm_version_major)
# Since LLVM 20 the OptimizerLast extension point reports the LTO phase, and
# the pass leaves the pre-link half of an LTO build alone.
if config.llvm_version_major >= 20:
    config.available_features.add("lto-phase-aware")
