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
	$(CC) $(CFLAGS) $(SUITE_CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< \
		$(SUITE_OUT)/libsuite.a $(SUITE_OUT)/libkvm.a $(LIBKVM_STRING_OBJ) \
		$(LDLIBS) -o $@

# Print a variable of the tree's build, e.g. for scripts: make ... print-CC
print-%:
	@echo '$($*)'

-include $(wildcard $(SUITE_OUT)/*/*.d $(SUITE_OUT)/*/*/*.d)

.PHONY: suite bench
