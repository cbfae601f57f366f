# The two commands. Both install what they need (Debian packages) and are
# quick when everything is already there.
#   make demo    build zinst, profile the bundled example, print the report
#   make check   build with LLVM 19 and 22 and run every test with each, then
#                again in a sanitizer build (ASan + UBSan) of LLVM 22
#   make bench   zinst against its peers on every workload (README figures)
.PHONY: demo check bench clean format

demo:
	scripts/demo.sh

check:
	scripts/check.sh

bench:
	scripts/install-deps.sh bench
	scripts/build.sh 19
	python3 bench/run.py --markdown build/bench.md --readme README.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp' '*.cc')

clean:
	rm -rf build
