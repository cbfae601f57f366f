# The two commands. Both install what they need (Debian packages) and are
# quick when everything is already there.
#   make demo    build zinst, profile the bundled example, print the report
#   make check   build with LLVM 19 and 22 and run every test with each
.PHONY: demo check clean format

demo:
	scripts/demo.sh

check:
	scripts/check.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp' '*.cc')

clean:
	rm -rf build
