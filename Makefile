# The two commands. Both install what they need (Debian packages) and are
# quick when everything is already there.
#   make demo    build zinst, profile the bundled example, print the report
#   make check   build with LLVM 19 and 22 and run every test with each, then
#                again in a sanitizer build (ASan + UBSan) of LLVM 22
#   make bench   zinst against its peers on every workload (README figures)
#   make levers  threshold, exclude and count-only measured against each other
#   make outliers  sampled estimates with the CPUs taken away, clipped or not
.PHONY: demo check bench levers outliers clean format

# Rounds of the bench. With 5, one slow stretch of this VM moved a ratio by
# a third: Lua's inline tree read 1.74x in a 5-round run, and 1.32x in 40
# interleaved runs of the same build right after. The README's tables are
# from 9.
BENCH_ROUNDS ?= 9

demo:
	scripts/demo.sh

check:
	scripts/check.sh

bench:
	scripts/install-deps.sh bench
	scripts/build.sh 19
	python3 bench/run.py --rounds $(BENCH_ROUNDS) --markdown build/bench.md --readme README.md

levers:
	scripts/install-deps.sh bench
	scripts/build.sh 19
	python3 bench/levers.py --callgrind --readme README.md

outliers:
	scripts/install-deps.sh bench
	scripts/build.sh 19
	python3 bench/outliers.py --readme README.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp' '*.cc')

clean:
	rm -rf build
