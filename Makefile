# Cinder's top-level Makefile: builds the patched CPython in build/cpython, links ./python,
# and runs the tests and benchmarks. `make` on a fresh clone installs what is missing and
# configures with defaults first.

TREE = build/cpython
NPROC := $(shell nproc 2>/dev/null || echo 2)
# Parallel by default, unless the caller already runs make with a job server.
SUBMAKE = $(MAKE) -C $(TREE) $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(NPROC))

.PHONY: all python demo test testcinder testcinder_jit testdebug_jit testruntime install patches \
	bench stock clean distclean

all: python

$(TREE)/Makefile:
	Tools/install-deps.sh
	./configure

# ./python runs the build tree's interpreter. It is a small script, not a symlink: the
# interpreter finds its standard library (and venv finds its home) from its own path.
python: $(TREE)/Makefile
	Tools/upstream.sh sync
	$(SUBMAKE)
	rm -f python
	printf '#!/bin/sh\nexec "$$(dirname "$$0")/$(TREE)/python" "$$@"\n' >python
	chmod +x python

# The demo program, the README's first command, with the JIT.
demo: python
	./python -X jit Tools/demo/demo.py

# The README's test command: googletest tests of our C code, then our Python tests and the
# upstream suite.
test: testruntime testcinder

testruntime: python
	$(SUBMAKE) cinder-testruntime

testcinder: python
	Tools/run-tests.sh ./python $(TESTOPTS)

# The same suite with every function the JIT can compile compiled on its first call.
testcinder_jit: python
	Tools/run-tests.sh "./python -X jit" $(TESTOPTS)

# Tests under -X jit in a --with-pydebug build of the committed tree (a clone in DEBUG, so
# the release tree stays as it is): the debug build's assertions and reference totals find
# reference-count bugs a release build hides. DEBUG_TESTS (the whole suite when empty) are
# our tests and the upstream ones that found such bugs.
DEBUG = build/debug
DEBUG_TESTS = test_cinderjit test_cinderjit_runtime test_cinder_eager test_cinder \
	test_cinder_immortal test_dataclasses test_lib2to3 test_pathlib test_generators \
	test_coroutines test_asyncgen test_contextlib test_itertools test_functools test_json \
	test_regrtest test_embed
testdebug_jit: $(TREE)/Makefile
	rm -rf $(DEBUG)
	git clone -q . $(DEBUG)
	cd $(DEBUG) && ./configure --with-pydebug \
		--with-cpython-tarball=$(CURDIR)/build/python3.11_3.11.2.orig.tar.gz
	$(MAKE) -C $(DEBUG) python
	cd $(DEBUG) && Tools/run-tests.sh "./python -X jit" $(DEBUG_TESTS) $(TESTOPTS)

install: python
	$(MAKE) -C $(TREE) install

# Write edits made in build/cpython back to patches/ (PATCH=name folds uncommitted edits
# into that patch, or starts a new one).
patches:
	Tools/upstream.sh export $(PATCH)

# Stock CPython 3.11.2 from the same tarball and configure options, for comparisons.
stock: $(TREE)/Makefile
	Tools/build-stock.sh

bench: python
	python3 Tools/benchmarks/run.py $(if $(QUICK),--quick) $(BENCHFLAGS)

clean:
	-$(MAKE) -C $(TREE) clean
	rm -rf $(TREE)/Cinder

distclean:
	rm -rf build python
