# plait - GNU make build.  `make help` lists the targets; docs/ARCHITECTURE.md
# explains the modules and how they depend on each other.
#
#   make                 build build/plait (and build/lib/libplait-cuda.so when nvcc is found)
#   make run             install deps, build, run the main job (plait doctor for now)
#   make test            install deps, build, run every module's tests
#   make SAN=1 test      the same under AddressSanitizer + UBSan (in build/san)
#   make install PREFIX=/usr/local

SHELL := /bin/bash
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

SAN ?= 0
PREFIX ?= /usr/local
ifeq ($(SAN),1)
BUILD ?= build/san
else
BUILD ?= build
endif

# ---------------------------------------------------------------- toolchain
PKGS := jansson libgit2 libcurl tree-sitter libarchive libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libgit2, libcurl and libtree-sitter are opened at first use, not linked (common.h,
# pl_dl_open, says why): the build records the file names (sonames) of the
# versions it compiled against.
soname = $(shell readelf -d "$$(pkg-config --variable=libdir $(1) 2>/dev/null)/$(2)" 2>/dev/null | \
	sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
LIBGIT2_SONAME := $(call soname,libgit2,libgit2.so)
LIBCURL_SONAME := $(call soname,libcurl,libcurl.so)
LIBTREE_SITTER_SONAME := $(call soname,tree-sitter,libtree-sitter.so)
LIBARCHIVE_SONAME := $(call soname,libarchive,libarchive.so)
LIBCRYPTO_SONAME := $(call soname,libcrypto,libcrypto.so)
LIBEDIT_SONAME := $(call soname,libedit,libedit.so)
DL_DEFS = -DTOOLS_LIBGIT2_SONAME='"$(LIBGIT2_SONAME)"' -DAGENT_LIBCURL_SONAME='"$(LIBCURL_SONAME)"' \
	-DTOOLS_LIBTREE_SITTER_SONAME='"$(LIBTREE_SITTER_SONAME)"' -DCLI_LIBEDIT_SONAME='"$(LIBEDIT_SONAME)"' \
	-DIMG_LIBARCHIVE_SONAME='"$(LIBARCHIVE_SONAME)"' -DIMG_LIBCURL_SONAME='"$(LIBCURL_SONAME)"' \
	-DIMG_LIBCRYPTO_SONAME='"$(LIBCRYPTO_SONAME)"'
OPT := -O2
SANFLAGS :=
ifeq ($(SAN),1)
OPT := -O1
# float-cast-overflow is not part of GCC's -fsanitize=undefined: a double
# converted to an integer it does not fit is undefined behaviour too.
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined,float-cast-overflow
endif
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $(OPT) -g -pthread \
	$(SANFLAGS) -I. -I$(BUILD)/gen $(PKG_CFLAGS) $(DL_DEFS) $(CUDA_DEFS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) -pthread $(LDFLAGS)

# ---------------------------------------------------------------- CUDA
# Built for Hopper when nvcc is found; CUDA=0 turns it off.  Never in the
# sanitizer build: ASan and the CUDA runtime do not share an address space
# layout peacefully.
CUDA ?= 1
NVCC ?= $(firstword $(wildcard /usr/local/cuda/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
HAVE_CUDA := 0
ifeq ($(CUDA),1)
ifneq ($(NVCC),)
ifneq ($(SAN),1)
HAVE_CUDA := 1
endif
endif
endif
ifeq ($(HAVE_CUDA),1)
CUDA_HOME := $(abspath $(dir $(NVCC))..)
CUDA_DEFS := -DPLAIT_HAVE_CUDA
# The .cu objects and the static CUDA runtime make one shared object, the
# CUDA module, that the engine opens at first use (engine/cuda/module.h):
# linked into plait, cudart_static's constructors ran at every start.  The
# version script leaves its entry point the only exported symbol.
CUDA_MODULE := $(BUILD)/lib/libplait-cuda.so
CUDA_MODULE_LIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lpthread -lstdc++ -lm
NVCCFLAGS := -O2 -g -std=c++17 -gencode arch=compute_90a,code=sm_90a \
	-gencode arch=compute_90,code=compute_90 -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Werror \
	-I. -I$(BUILD)/gen $(PKG_CFLAGS) $(CUDA_DEFS)
CU_SRC := $(shell find engine -name '*.cu' | sort)
else
CUDA_MODULE :=
CU_SRC :=
ifeq ($(SAN),1)
$(info plait: CUDA backend left out of the sanitizer build)
else ifeq ($(CUDA),0)
$(info plait: CUDA backend off (CUDA=0); building the CPU backend only)
else
$(info plait: nvcc not found (looked in /usr/local/cuda/bin and PATH); building the CPU backend only)
endif
endif

# ---------------------------------------------------------------- modules
# Each module is one static library; DEPS_m lists what it links against,
# itself first, in link order.  Dependencies point one way (ARCHITECTURE.md).
MODULES := common engine sandbox image tools agent bench-harness cli
DEPS_common := common
DEPS_engine := engine common
DEPS_sandbox := sandbox common
DEPS_image := image sandbox common
DEPS_tools := tools sandbox common
DEPS_agent := agent engine tools sandbox common
DEPS_bench-harness := bench-harness agent engine tools image sandbox common
DEPS_cli := cli bench-harness agent engine tools image sandbox common
EXT_common := -ljansson -lm -ldl
EXT_tools := $(BUILD)/lib/libplait-grammars.a
# datasets and predictions come as .xz and .gz (liblzma, zlib)
EXT_bench-harness := -llzma -lz
# Link flags for a module and everything below it.
ldlibs = $(foreach d,$(DEPS_$(1)),$(BUILD)/lib/libplait-$(d).a) $(foreach d,$(DEPS_$(1)),$(EXT_$(d)))
libdeps = $(foreach d,$(DEPS_$(1)),$(BUILD)/lib/libplait-$(d).a) \
	$(if $(filter tools,$(DEPS_$(1))),$(BUILD)/lib/libplait-grammars.a)

# cli/plait.c holds main() and links into the program only, not a library.
src_of = $(filter-out cli/plait.c,$(shell find $(1) -name '*.c' | sort))
obj_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
CU_OBJ := $(patsubst %.cu,$(BUILD)/obj/%.cu.o,$(CU_SRC))

# A file per library and test binary holding its list of sources, rewritten
# only when the list changes: removing or moving a source file then rebuilds
# the archive (ar would otherwise keep the stale object and its symbols).
srclist = $(shell mkdir -p $(BUILD)/lists && l='$(2)'; \
	[ "$$(cat $(BUILD)/lists/$(1) 2>/dev/null)" = "$$l" ] || printf '%s' "$$l" > $(BUILD)/lists/$(1); \
	echo $(BUILD)/lists/$(1))
$(foreach m,$(MODULES),$(eval $(BUILD)/lib/libplait-$(m).a: $(call obj_of,$(m)) \
	$(call srclist,lib-$(m),$(call src_of,$(m)))))
$(BUILD)/lib/libplait-%.a:
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

# sandbox profiles, agent profiles and prompts are read from the install's
# data directory, never from beside the program (sandbox/config.c,
# agent/util.c)
$(BUILD)/obj/sandbox/config.o: CFLAGS_ALL += -DSBX_PROFILE_DIR='"$(PREFIX)/share/plait/sandbox"'
$(BUILD)/obj/agent/util.o: CFLAGS_ALL += -DAGENT_DATA_DIR='"$(PREFIX)/share/plait"'

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/grammar_versions.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@

$(CUDA_MODULE): $(CU_OBJ) engine/cuda/libplait-cuda.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libplait-cuda.so -Wl,--version-script=engine/cuda/libplait-cuda.map \
		-Wl,-z,defs -Wl,--as-needed -o $@ $(CU_OBJ) $(CUDA_MODULE_LIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- grammars
# Pinned npm packages (deps.txt) unpacked by scripts/deps.sh into .deps/.
# Third-party generated code: compiled with warnings off, never -Werror.
GRAMMAR_SRCDIRS := $(shell awk '$$1 == "npm" { n = split($$5, d, ","); \
	for (i = 1; i <= n; i++) print ".deps/grammars/" $$2 "/" (d[i] == "." ? "" : d[i] "/") "src" }' deps.txt)
GRAMMAR_STAMP := .deps/grammars/.stamp

$(GRAMMAR_STAMP): deps.txt scripts/deps.sh
	scripts/deps.sh --grammars
	@touch $@

$(BUILD)/lib/libplait-grammars.a: $(GRAMMAR_STAMP)
	@mkdir -p $(BUILD)/grammars $(@D)
	@rm -f $@
	@set -e; for d in $(GRAMMAR_SRCDIRS); do \
		name=$$(echo $$d | sed 's|^.deps/grammars/||; s|/src$$||; s|/|-|g'); \
		for f in parser scanner; do \
			[ -f $$d/$$f.c ] || continue; \
			echo "  CC  $$d/$$f.c"; \
			$(CC) -std=c11 -O2 -g -w -fPIC $(SANFLAGS) -I$$d -c $$d/$$f.c -o $(BUILD)/grammars/$$name-$$f.o; \
		done; \
	done
	ar rcs $@ $(BUILD)/grammars/*.o

$(BUILD)/gen/grammar_versions.h: deps.txt
	@mkdir -p $(@D)
	awk 'BEGIN { print "/* generated from deps.txt by the Makefile; do not edit */" } \
	     $$1 == "npm" { n = $$2; sub(/^tree-sitter-/, "", n); \
	     printf "#define TS_VERSION_%s \"%s\"\n", toupper(n), $$3 }' $< > $@

# The grammars' tags queries (queries/tags.scm), embedded as C strings so
# that nothing is read from .deps at run time; tools/tags.c adds its own.
TAGS_LANGS := python c cpp java javascript typescript go rust
$(BUILD)/gen/tags_queries.h: $(GRAMMAR_STAMP) deps.txt
	@mkdir -p $(@D)
	@set -e; { echo "/* generated from .deps/grammars/tree-sitter-LANG/queries/tags.scm by the Makefile; do not edit */"; \
	for l in $(TAGS_LANGS); do \
		echo "static const char tags_scm_$$l[] ="; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' .deps/grammars/tree-sitter-$$l/queries/tags.scm; \
		printf '\t"";\n'; \
	done; } > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/tools/tags.o: $(BUILD)/gen/tags_queries.h

# ---------------------------------------------------------------- program
ALL_LIBS := $(call libdeps,cli)

$(BUILD)/plait: $(BUILD)/obj/cli/plait.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,cli)

.PHONY: all
all: $(BUILD)/plait $(CUDA_MODULE)

# ---------------------------------------------------------------- tests
# One Criterion binary per module: tests/<module>/*.c -> $(BUILD)/tests/test-<module>.
TEST_MODULES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/*.c)))))
TEST_BINS := $(foreach m,$(TEST_MODULES),$(BUILD)/tests/test-$(m))

# tests/cli runs the built program as a user would, and tests cli/'s own
# helpers (the option parser) in process: it links the whole program.
TESTDEPS_cli := cli
# tests/build checks the build's own rules (make check) on copies of the
# archives: it links common only.
TESTDEPS_build := common
testdeps = $(if $(TESTDEPS_$(1)),$(TESTDEPS_$(1)),$(1))
define test_rule
$(BUILD)/tests/test-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/$(1)/*.c)) \
		$(call srclist,test-$(1),$(sort $(wildcard tests/$(1)/*.c))) \
		$(call libdeps,$(call testdeps,$(1))) $(if $(filter cli,$(1)),$(BUILD)/plait)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $$(call ldlibs,$(call testdeps,$(1))) -lcriterion
endef
$(foreach m,$(TEST_MODULES),$(eval $(call test_rule,$(m))))

# make bench-engine: CPU prefill/decode throughput and peak memory of the
# engine (scripts/bench-engine.c, a measurement, not a test; figures go to
# docs/PERFORMANCE.md).
BENCH_ENGINE := $(BUILD)/bench-engine
$(BENCH_ENGINE): scripts/bench-engine.c $(call libdeps,engine)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,engine)

.PHONY: bench-engine
bench-engine: $(BENCH_ENGINE)
	PLAIT_ROOT=$(CURDIR) $(BENCH_ENGINE)

# make bench-agent: the agent's own time per step over a 200-turn run of
# the real loop against a scripted server on loopback, real tools, the
# trajectory written (scripts/bench-agent.c; figures go to
# docs/PERFORMANCE.md).
BENCH_AGENT := $(BUILD)/bench-agent
$(BENCH_AGENT): scripts/bench-agent.c tests/script_server.h $(call libdeps,agent)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,agent)

.PHONY: bench-agent
bench-agent: $(BENCH_AGENT)
	PLAIT_ROOT=$(CURDIR) $(BENCH_AGENT) $(or $(TURNS),200) $(or $(ROUNDS),5)

# make bench-tokenizer: `plait tokenize` against python3-sentencepiece on the
# same text (tests/reference/tokenizer_bench.py, Debian's python; not a
# test; figures go to docs/PERFORMANCE.md).
.PHONY: bench-tokenizer
bench-tokenizer: $(BUILD)/plait
	/usr/bin/python3 tests/reference/tokenizer_bench.py $(BUILD)/plait

# make check: the house rules the build can check on the archives it made
# (scripts/check.sh: prefixes and public headers, no loops between the
# files of a module, no printing below cli/, the CUDA module's exports).
.PHONY: check
check: $(ALL_LIBS) $(CUDA_MODULE)
	scripts/check.sh $(BUILD)

.PHONY: deps test tests run check-deps
deps:
	scripts/deps.sh

check-deps:
	scripts/deps.sh --check

tests: $(TEST_BINS) $(BUILD)/plait $(CUDA_MODULE)

# Under SAN=1, leaks inside third-party libraries listed (with reasons) in
# scripts/lsan.supp are not reported; the children the tests start inherit it.
test: deps
	$(MAKE) --no-print-directory -j$$(nproc) tests
	scripts/check.sh $(BUILD)
	PLAIT_ROOT=$(CURDIR) PLAIT_BIN=$(CURDIR)/$(BUILD)/plait \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	scripts/run-tests.sh $(TEST_BINS)

run: deps
	$(MAKE) --no-print-directory -j$$(nproc) all
	$(BUILD)/plait doctor

# ---------------------------------------------------------------- install
HEADERS := common/common.h engine/engine.h sandbox/sandbox.h image/image.h tools/tools.h agent/agent.h \
	bench-harness/bench.h
.PHONY: install uninstall
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/plait $(DESTDIR)$(PREFIX)/bin/plait
	for h in $(HEADERS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/plait/$$h; done
	install -m 644 $(filter-out %/libplait-cli.a,$(ALL_LIBS)) $(DESTDIR)$(PREFIX)/lib/
	$(if $(CUDA_MODULE),install -D -m 755 $(CUDA_MODULE) $(DESTDIR)$(PREFIX)/lib/plait/libplait-cuda.so)
	install -d $(DESTDIR)$(PREFIX)/share/plait/prompts $(DESTDIR)$(PREFIX)/share/plait/agent
	install -m 644 prompts/*.txt $(DESTDIR)$(PREFIX)/share/plait/prompts/
	install -m 644 configs/agent/*.json $(DESTDIR)$(PREFIX)/share/plait/agent/
	install -d $(DESTDIR)$(PREFIX)/share/plait/sandbox
	install -m 644 configs/sandbox/*.json $(DESTDIR)$(PREFIX)/share/plait/sandbox/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define PLAIT_VERSION "\(.*\)"/\1/p' common/common.h)|' \
		scripts/plait.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/plait.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/plait $(DESTDIR)$(PREFIX)/lib/pkgconfig/plait.pc
	rm -rf $(DESTDIR)$(PREFIX)/lib/plait
	rm -rf $(DESTDIR)$(PREFIX)/share/plait/prompts $(DESTDIR)$(PREFIX)/share/plait/agent $(DESTDIR)$(PREFIX)/share/plait/sandbox
	rm -f $(foreach l,$(ALL_LIBS),$(DESTDIR)$(PREFIX)/lib/$(notdir $(l)))
	rm -rf $(DESTDIR)$(PREFIX)/include/plait

# ---------------------------------------------------------------- misc
.PHONY: clean distclean format help
clean:
	rm -rf build

distclean: clean
	rm -rf .deps

format:
	clang-format -i $$(find common engine sandbox image tools agent bench-harness cli tests -name '*.[ch]')

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- bench-sandbox
# /bin/true in a fresh plait sandbox, in a reused session, and under
# bubblewrap, in one interleaved run (figures: docs/PERFORMANCE.md).
.PHONY: bench-sandbox
$(BUILD)/bench-sandbox: scripts/bench-sandbox.c $(call libdeps,sandbox)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,sandbox)

bench-sandbox: $(BUILD)/plait $(BUILD)/bench-sandbox
	$(BUILD)/bench-sandbox $(BUILD)/plait $(or $(ROUNDS),200)

# ---------------------------------------------------------------- bench-tools
# search against ripgrep on /usr/include in a git repository, repo_map cold
# and cached on 100k lines, outline of a 10k-line file (figures:
# docs/PERFORMANCE.md).  The trees are kept in /tmp/plait-bench-tools.
.PHONY: bench-tools
$(BUILD)/bench-tools: scripts/bench-tools.c $(call libdeps,tools)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,tools)

bench-tools: $(BUILD)/bench-tools
	scripts/bench-tools.sh $(BUILD)/bench-tools $(or $(ROUNDS),5)

# The sandbox's real cgroup v2 checks (memory hog, fork bomb, teardown) as a
# standalone program, for machines with a usable cgroup v2 and no
# Criterion: sudo build/sandbox-cgroup-check [--cgroup-parent DIR].
$(BUILD)/sandbox-cgroup-check: scripts/sandbox-cgroup-check.c $(call libdeps,sandbox)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,sandbox)

# ---------------------------------------------------------------- bench-harness
# The SWE-bench harness's own cost per instance, and 1 against 8 workers on
# synthetic instances whose tests wait (scripts/bench-harness.c; figures:
# docs/PERFORMANCE.md).  INSTANCES and WAIT (seconds) change the run.
.PHONY: bench-harness
$(BUILD)/bench-harness: scripts/bench-harness.c $(call libdeps,bench-harness)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,bench-harness)

bench-harness: $(BUILD)/bench-harness
	$(BUILD)/bench-harness $(or $(INSTANCES),64) $(or $(WAIT),5)

# ---------------------------------------------------------------- bench-images
# A 1 GiB image and a second sharing its base, loaded into a fresh store;
# what the store holds; starting a run over the cached image against a
# read-only root, a hard-link copy and a full copy per run (figures:
# docs/PERFORMANCE.md).  The layers are kept in /tmp/plait-bench-images.
.PHONY: bench-images
$(BUILD)/bench-images: scripts/bench-images.c $(call libdeps,image)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(call ldlibs,image)

bench-images: $(BUILD)/plait $(BUILD)/bench-images
	scripts/bench-images.sh $(BUILD)/plait $(BUILD)/bench-images $(or $(ROUNDS),20)
