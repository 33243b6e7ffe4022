# SPDX-License-Identifier: GPL-2.0
#
# Build kvm-msr-suite on top of a kernel tree's KVM selftests library.
#
# The top-level Makefile runs this file from the tree's
# tools/testing/selftests/kvm directory:
#
#   make -C $(KDIR)/tools/testing/selftests/kvm -f lib/selftests.mk \
#        SUITE=<repo> OUTPUT=<build dir> LINUX_HDR_PATH=<headers> ...
#
# It includes the tree's own Makefile, so the library is built from the
# tree's own source lists (LIBKVM_OBJS: lib/x86_64/ up to 6.12, lib/x86/ from
# 6.13) with the tree's own CFLAGS/LDFLAGS, and the suite is compiled with
# exactly the flags upstream KVM selftests get.  Nothing of the library is
# copied into this repository.

include Makefile

SUITE_OUT := $(OUTPUT)/suite

# The tree's string overrides (memset/memcpy/... usable from guest code) are
# linked as objects, as upstream does, so they override libc's; the rest of
# the library goes into an archive.
LIBKVM_ARCHIVE_OBJS := $(filter-out $(LIBKVM_STRING_OBJ),$(LIBKVM_OBJS))

SUITE_CFLAGS := -I$(SUITE)/lib -I$(SUITE)/guest_code -I$(SUITE_OUT)/gen
# Where msr_baseline_get() finds tests/baseline outside an installed suite.
$(SUITE_OUT)/lib/msr_divergence.o: CPPFLAGS += -DMSR_BASELINE_DIR='"$(SUITE)/tests/baseline"'

# The PVM backend (kvm_pvm) stops the vCPU with KVM_EXIT_INTERNAL_ERROR
# (emulation failure) on guest SSE instructions such as "movq %r9, %xmm0",
# which gcc emits in the library's exception fixup (route_exception()) at
# -march=x86-64-v2; SVM and VMX run them.  Code that runs in the guest (the
# library's exception path, ucall, string helpers, and the suite's guest
# payloads) is built without vector registers so the suite can test MSRs on
# PVM too; see tests/baseline/kvm_pvm.txt for the evidence.
GUEST_CFLAGS := -mgeneral-regs-only
LIBKVM_GUEST_OBJS := $(filter %/processor.o %/ucall.o %/ucall_common.o %/guest_sprintf.o \
			      %/string_override.o,$(LIBKVM_OBJS))
$(LIBKVM_GUEST_OBJS): CFLAGS += $(GUEST_CFLAGS)
$(LIBKVM_GUEST_OBJS): $(SUITE)/lib/selftests.mk
$(SUITE_OUT)/guest_code/%.o: CFLAGS += $(GUEST_CFLAGS)

SUITE_LIB_SRCS := $(wildcard $(SUITE)/lib/*.c $(SUITE)/guest_code/*.c)
SUITE_LIB_OBJS := $(patsubst $(SUITE)/%.c,$(SUITE_OUT)/%.o,$(SUITE_LIB_SRCS)) \
		  $(SUITE_OUT)/gen/msr_names.o
SUITE_TESTS := $(patsubst $(SUITE)/%.c,$(SUITE_OUT)/%,$(wildcard $(SUITE)/tests/*.c))
SUITE_UNIT_TESTS := $(patsubst $(SUITE)/%.c,$(SUITE_OUT)/%,$(wildcard $(SUITE)/tests/unit/*.c))
SUITE_BENCH := $(patsubst $(SUITE)/%.c,$(SUITE_OUT)/%,$(wildcard $(SUITE)/bench/*.c))

# 32-bit helpers of the compat ioctl tests: static -m32 programs on the UAPI
# headers alone (no library), installed next to the tests that run them.
SUITE_COMPAT32 := $(patsubst $(SUITE)/tests/compat32/%.c,$(SUITE_OUT)/tests/%,\
		    $(wildcard $(SUITE)/tests/compat32/*.c))

suite: $(SUITE_TESTS) $(SUITE_UNIT_TESTS) $(SUITE_COMPAT32) $(SUITE_BENCH)
	@:

bench: $(SUITE_BENCH)
	@:

$(SUITE_COMPAT32): $(SUITE_OUT)/tests/%: $(SUITE)/tests/compat32/%.c $(SUITE)/lib/msr_filter_specs.h
	@mkdir -p $(@D)
	$(CC) -m32 -static -O2 -g -Wall -I$(SUITE)/lib -isystem $(LINUX_HDR_PATH) $< -o $@

$(SUITE_OUT)/libkvm.a: $(LIBKVM_ARCHIVE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(SUITE_OUT)/libsuite.a: $(SUITE_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

# MSR names come from the tree's own msr-index.h, not from a hand-typed list.
MSR_INDEX_H := $(firstword $(wildcard $(top_srcdir)/tools/arch/x86/include/asm/msr-index.h))
$(SUITE_OUT)/gen/msr_names.c: $(SUITE)/scripts/gen_msr_names.sh $(MSR_INDEX_H)
	@mkdir -p $(@D)
	sh $(SUITE)/scripts/gen_msr_names.sh $(MSR_INDEX_H) > $@.tmp && mv $@.tmp $@

$(SUITE_OUT)/gen/%.o: $(SUITE_OUT)/gen/%.c
	$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(CPPFLAGS) $(TARGET_ARCH) -c $< -o $@

$(SUITE_OUT)/%.o: $(SUITE)/%.c $(SUITE)/lib/selftests.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(CPPFLAGS) $(TARGET_ARCH) -c $< -o $@

$(SUITE_TESTS) $(SUITE_UNIT_TESTS) $(SUITE_BENCH): $(SUITE_OUT)/%: $(SUITE)/%.c \
		$(SUITE_OUT)/libsuite.a $(SUITE_OUT)/libkvm.a $(LIBKVM_STRING_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(SUITE_LINK_OBJS) \
		$(SUITE_OUT)/libsuite.a $(SUITE_OUT)/libkvm.a $(LIBKVM_STRING_OBJ) \
		$(LDLIBS) -o $@

# --- fuzz targets (fuzz/) ------------------------------------------------------
#
# One source per target, built three ways:
#   replay     msr_fuzz_replay, every target, the tree's gcc and flags (part of
#              "suite": make check replays the regression corpus with it);
#   libfuzzer  fuzz/libfuzzer/<target>: clang -fsanitize=fuzzer;
#   afl        fuzz/afl/<target>: afl-clang-fast, persistent mode (afl_driver.c).
# In the engine builds the target, the runtime and the model (msr_model.c,
# msr_catalog.c) are instrumented; the selftests library and everything that
# runs in the guest (guest_code/) come uninstrumented from the archives: the
# guest must never execute a coverage callback.
FUZZ_OUT := $(OUTPUT)/fuzz

# Every fuzz/<name>.c but the runtime is a target (FUZZ_TARGETS=name... builds a subset).
FUZZ_TARGETS ?= $(filter-out fuzz_common afl_driver replay_main guest_string,\
		  $(patsubst $(SUITE)/fuzz/%.c,%,$(wildcard $(SUITE)/fuzz/*.c)))
FUZZ_REPLAY := $(FUZZ_OUT)/replay/msr_fuzz_replay
FUZZ_DEFS := -I$(SUITE)/fuzz -DFUZZ_REPLAY_BIN='"$(FUZZ_REPLAY)"' -DFUZZ_REGRESSIONS_DIR='"$(SUITE)/fuzz/regressions"'
FUZZ_HDRS := $(wildcard $(SUITE)/fuzz/*.h) $(SUITE)/lib/msr_model.h $(SUITE)/lib/msr_catalog.h \
	     $(SUITE)/lib/msr_case.h
FUZZ_LIBS := $(SUITE_OUT)/libsuite.a $(SUITE_OUT)/libkvm.a $(LIBKVM_STRING_OBJ)
# libFuzzer's interceptors define memcmp (and the str* compares) for the
# host side: the library's guest-safe string overrides are linked with
# memcmp weakened (no guest code of the suite calls it), and memset/memcpy
# weakened in favour of fuzz/guest_string.c (guest-safe too, and fast for
# the engine's per-input memsets).
FUZZ_ENGINE_LIBS := $(FUZZ_OUT)/guest_string.o $(SUITE_OUT)/libsuite.a $(SUITE_OUT)/libkvm.a \
		    $(FUZZ_OUT)/string_override.o

$(FUZZ_OUT)/string_override.o: $(LIBKVM_STRING_OBJ)
	@mkdir -p $(@D)
	objcopy --weaken-symbol=memcmp --weaken-symbol=memset --weaken-symbol=memcpy $< $@

$(FUZZ_OUT)/guest_string.o: $(SUITE)/fuzz/guest_string.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_CFLAGS) -c $< -o $@
FUZZ_MODEL_SRCS := $(SUITE)/lib/msr_model.c $(SUITE)/lib/msr_catalog.c
# clang and afl-clang-fast get the tree's flags minus dependency generation.
FUZZ_CFLAGS = $(filter-out -MD -MP,$(CFLAGS)) $(SUITE_CFLAGS) $(CPPFLAGS) $(FUZZ_DEFS)
FUZZ_CLANG ?= clang
FUZZ_AFL_CC ?= afl-clang-fast

$(FUZZ_OUT)/replay/%.o: $(SUITE)/fuzz/%.c $(FUZZ_HDRS) $(SUITE)/lib/selftests.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(CPPFLAGS) $(FUZZ_DEFS) -c $< -o $@

FUZZ_REPLAY_OBJS = $(patsubst %,$(FUZZ_OUT)/replay/%.o,replay_main fuzz_common $(FUZZ_TARGETS))
$(FUZZ_REPLAY): $(FUZZ_REPLAY_OBJS) $(FUZZ_LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) $(FUZZ_REPLAY_OBJS) $(FUZZ_LIBS) $(LDLIBS) -o $@

$(FUZZ_OUT)/libfuzzer/%: $(SUITE)/fuzz/%.c $(SUITE)/fuzz/fuzz_common.c $(FUZZ_MODEL_SRCS) \
		$(FUZZ_HDRS) $(FUZZ_ENGINE_LIBS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -DFUZZ_TARGET=fuzz_target_$* $< \
		$(SUITE)/fuzz/fuzz_common.c $(FUZZ_MODEL_SRCS) $(FUZZ_ENGINE_LIBS) $(LDLIBS) -o $@

$(FUZZ_OUT)/afl/%: $(SUITE)/fuzz/%.c $(SUITE)/fuzz/fuzz_common.c $(SUITE)/fuzz/afl_driver.c \
		$(FUZZ_MODEL_SRCS) $(FUZZ_HDRS) $(FUZZ_ENGINE_LIBS)
	@mkdir -p $(@D)
	AFL_QUIET=1 $(FUZZ_AFL_CC) $(FUZZ_CFLAGS) $(LDFLAGS) -DFUZZ_TARGET=fuzz_target_$* $< \
		$(SUITE)/fuzz/fuzz_common.c $(SUITE)/fuzz/afl_driver.c $(FUZZ_MODEL_SRCS) \
		$(FUZZ_ENGINE_LIBS) $(LDLIBS) -o $@

suite: $(FUZZ_REPLAY)

# fuzz/build.sh (the OSS-Fuzz contract): its $CC, $CFLAGS and
# $LIB_FUZZING_ENGINE arrive as OSSFUZZ_CC, OSSFUZZ_CFLAGS, OSSFUZZ_ENGINE
# (the tree's library keeps its own compiler), binaries go to OSSFUZZ_OUT.
OSSFUZZ_OUT ?= $(FUZZ_OUT)/oss-fuzz
$(OSSFUZZ_OUT)/%: $(SUITE)/fuzz/%.c $(SUITE)/fuzz/fuzz_common.c $(FUZZ_MODEL_SRCS) \
		$(FUZZ_HDRS) $(FUZZ_ENGINE_LIBS) FORCE
	@mkdir -p $(@D)
	$(OSSFUZZ_CC) $(FUZZ_CFLAGS) $(OSSFUZZ_CFLAGS) $(LDFLAGS) -DFUZZ_TARGET=fuzz_target_$* $< \
		$(SUITE)/fuzz/fuzz_common.c $(FUZZ_MODEL_SRCS) $(OSSFUZZ_ENGINE) \
		$(FUZZ_ENGINE_LIBS) $(LDLIBS) -o $@
fuzz-oss: $(addprefix $(OSSFUZZ_OUT)/,$(FUZZ_TARGETS))
	@:
FORCE:

fuzz-replay: $(FUZZ_REPLAY)
	@:
fuzz-engine-libs: $(FUZZ_ENGINE_LIBS)
	@:
fuzz-libfuzzer: $(addprefix $(FUZZ_OUT)/libfuzzer/,$(FUZZ_TARGETS))
	@:
fuzz-afl: $(addprefix $(FUZZ_OUT)/afl/,$(FUZZ_TARGETS))
	@:

# The benchmark of the fuzz targets links them (replay build) too.
FUZZ_BENCH_OBJS = $(patsubst %,$(FUZZ_OUT)/replay/%.o,fuzz_common $(FUZZ_TARGETS))
$(SUITE_OUT)/bench/msr_fuzz_bench: $(FUZZ_BENCH_OBJS)
$(SUITE_OUT)/bench/msr_fuzz_bench: SUITE_CFLAGS += -I$(SUITE)/fuzz
$(SUITE_OUT)/bench/msr_fuzz_bench: SUITE_LINK_OBJS = $(FUZZ_BENCH_OBJS)

# Print a variable of the tree's build, e.g. for scripts: make ... print-CC
print-%:
	@echo '$($*)'

-include $(wildcard $(SUITE_OUT)/*/*.d $(SUITE_OUT)/*/*/*.d)

.PHONY: suite bench fuzz-oss FORCE fuzz-engine-libs fuzz-replay fuzz-libfuzzer fuzz-afl
