# Cinder's make fragment: compiles our own C sources in place and links them into libpython.
# Included by CPython's Makefile (patches/0001); Cinder's configure writes cinder-config.mk.

# Declared before any rule of ours so that CPython's `all` stays the default goal.
all:

CINDER_SRCS = $(wildcard $(CINDER_SRCDIR)/Python/*.c $(CINDER_SRCDIR)/Objects/*.c \
		$(CINDER_SRCDIR)/Modules/*.c $(CINDER_SRCDIR)/Jit/*.c $(CINDER_SRCDIR)/Jit/*/*.c)
# C++ only where a C++ dependency demands it: the asmjit shim.
CINDER_CXX_SRCS = $(wildcard $(CINDER_SRCDIR)/Jit/codegen/*.cpp)
CINDER_OBJS = $(patsubst $(CINDER_SRCDIR)/%.c,Cinder/%.o,$(CINDER_SRCS)) \
		$(patsubst $(CINDER_SRCDIR)/%.cpp,Cinder/%.o,$(CINDER_CXX_SRCS))
CINDER_CFLAGS = -I$(CINDER_SRCDIR)/Include -I$(CINDER_SRCDIR) $(CINDER_DEFINES)
LIBS += -lasmjit -lstdc++

Cinder/%.o: $(CINDER_SRCDIR)/%.c cinder-config.mk
	@mkdir -p $(@D)
	$(CC) -c $(PY_CORE_CFLAGS) $(CINDER_CFLAGS) -MMD -MP -o $@ $<

Cinder/Jit/codegen/%.o: $(CINDER_SRCDIR)/Jit/codegen/%.cpp cinder-config.mk
	@mkdir -p $(@D)
	$(CXX) -c -std=c++17 -fno-exceptions -fno-rtti $(OPT) $(PY_CPPFLAGS) -DPy_BUILD_CORE \
		$(CINDER_CFLAGS) -MMD -MP -o $@ $<

-include $(CINDER_OBJS:.o=.d)

# Upstream files that our patches make include our headers (cinder/jit_hooks.h).
CINDER_HOOKED_OBJS = Python/ceval.o Python/pylifecycle.o Objects/genobject.o
$(CINDER_HOOKED_OBJS): PY_CORE_CFLAGS += $(CINDER_CFLAGS)
$(CINDER_HOOKED_OBJS): $(CINDER_SRCDIR)/Include/cinder/jit_hooks.h $(CINDER_SRCDIR)/Jit/jit.h

# --- googletest tests of our C code (RuntimeTests/) -----------------------------------
# The binary sits next to ./python so that it finds the build tree's Lib/ on its own.

CINDER_TEST_SRCS = $(wildcard $(CINDER_SRCDIR)/RuntimeTests/*.cpp)
CINDER_TEST_OBJS = $(patsubst $(CINDER_SRCDIR)/%.cpp,Cinder/%.o,$(CINDER_TEST_SRCS))

Cinder/RuntimeTests/%.o: $(CINDER_SRCDIR)/RuntimeTests/%.cpp cinder-config.mk
	@mkdir -p $(@D)
	$(CXX) -c -std=c++17 -g -O1 $(PY_CPPFLAGS) -I$(srcdir)/Include/internal -DPy_BUILD_CORE \
		$(CINDER_CFLAGS) -DCINDER_RUNTIME_TESTS_DIR='"$(CINDER_SRCDIR)/RuntimeTests"' \
		-MMD -MP -o $@ $<

-include $(CINDER_TEST_OBJS:.o=.d)

cinder_runtime_tests: $(CINDER_TEST_OBJS) $(LIBRARY_DEPS)
	$(CXX) $(PY_LDFLAGS_NOLTO) $(LINKFORSHARED) -o $@ $(CINDER_TEST_OBJS) $(BLDLIBRARY) \
		$(LIBS) $(MODLIBS) $(SYSLIBS) -lgtest -lpthread

.PHONY: cinder-testruntime
cinder-testruntime: cinder_runtime_tests
	$(RUNSHARED) ./cinder_runtime_tests $(GTESTFLAGS)
