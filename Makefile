# SPDX-License-Identifier: GPL-2.0
#
# kvm-msr-suite: conformance and fuzz tests for the KVM x86 MSR userspace ABI.
#
#   make [KSRC=/path/to/linux | KSRC=debian:6.12 | KSRC=debian:6.1] [O=dir]
#   make run_tests [TEST=name]   build, run the suite through the kselftest runner
#   make check                   runner verdicts, unit tests + suite against the backend baseline, fuzz
#                                smoke run, and make check again without /dev/kvm
#   (without /dev/kvm, fuzz engines or QEMU, what needs them SKIPs: scripts/need.sh)
#   make install INSTALL_PATH=dir
#   make coverage                model line/branch coverage by the unit tests
#   make bench                   build and run the benchmarks (bench/)
#   make fuzz                    build the fuzz targets: libFuzzer, AFL++ and replay builds,
#                                seed corpora and dictionaries (build/<tree>/fuzz/)
#   make fuzz-smoke              every target briefly under each installed engine, and
#                                the regression corpus replayed (part of make check)
#   make clean
#   make vmtest [KERNEL=debian:6.1|debian:6.12|bzImage|linux-image.deb] [MODULES=dir] [TEST=name]
#                                the suite inside another kernel under QEMU (scripts/vmtest.sh;
#                                VMTEST_ARGS="--emulator bochs": under Bochs, kvm_intel)
#   make matrix [KERNELS="host debian:6.1 debian:6.12 bochs:debian:6.12"]
#                                results table across kernels/backends (scripts/matrix.sh)
#   make kvm-modules KVM_TREE=dir  KVM modules from a 6.12/6.1 tree for the stock Debian kernel
#                                (scripts/kvm-modules.sh; vmtest.sh --kvm-tree/--kvm-patch boot them)
#   make kmutate [KMUTANTS=dir]  kernel-mutation campaign, ours vs upstream's MSR selftests
#                                (scripts/kmutate.sh; default tests/kmutants)
#
# The KVM selftests library (kvm_util, processor, ucall, kselftest harness...)
# is built from KSRC's tools/testing/selftests/kvm with that tree's own
# Makefile and flags, against KSRC's UAPI headers (headers_install into the
# build directory).  Without KSRC a Debian linux-source package is used: 6.12
# for running kernels >= 6.8, 6.1 below (the 6.8+ library requires
# KVM_SET_USER_MEMORY_REGION2 and would SKIP everything on older kernels).

SUITE := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
B := $(abspath $(or $(O),$(OUTPUT),$(SUITE)/build))
COLLECTION := kvm-msr-suite

ifeq ($(KSRC),)
KSRC := debian:$(shell $(SUITE)/scripts/ksrc.sh default-version)
KSRC_ORIGIN := default for running kernel $(shell uname -r)
else
KSRC_ORIGIN := KSRC
endif

ifneq ($(filter debian:%,$(KSRC)),)
DEB_VER := $(patsubst debian:%,%,$(KSRC))
KDIR := $(B)/src/linux-source-$(DEB_VER)
TREE_NAME := debian-$(DEB_VER)
TREE_STAMP := $(KDIR)/.kvm-msr-suite-extracted
else
KDIR := $(abspath $(KSRC))
TREE_NAME := ksrc-$(notdir $(KDIR))-$(shell echo '$(KDIR)' | cksum | cut -c1-8)
TREE_STAMP :=
endif

OUT := $(B)/$(TREE_NAME)
SUITE_OUT := $(OUT)/suite
HDR_STAMP := $(OUT)/usr/.headers-installed
TREE_OK := $(OUT)/.tree-checked
KVM_DIR := $(KDIR)/tools/testing/selftests/kvm

TESTS := $(patsubst tests/%.c,%,$(wildcard tests/*.c))
COMPAT32 := $(patsubst tests/compat32/%.c,%,$(wildcard tests/compat32/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*.c))
BENCH := $(patsubst bench/%.c,%,$(wildcard bench/*.c))

# The tree's own selftests build, with our wrapper (lib/selftests.mk) on top.
# suite-cflags says what the tree's library provides (scripts/ksrc.sh cflags).
SUBMAKE = $(MAKE) --no-print-directory -C $(KVM_DIR) -f $(SUITE)/lib/selftests.mk \
	SUITE=$(SUITE) OUTPUT=$(OUT) LINUX_HDR_PATH=$(OUT)/usr/include/ \
	KHDR_INCLUDES="-isystem $(OUT)/usr/include" \
	EXTRA_CFLAGS="$(EXTRA_CFLAGS) $$(cat $(OUT)/suite-cflags 2>/dev/null)"

all: suite

ifneq ($(TREE_STAMP),)
$(TREE_STAMP):
	@$(SUITE)/scripts/setup.sh build src-$(DEB_VER)
	@$(SUITE)/scripts/ksrc.sh extract $(DEB_VER) $(B)/src
endif

$(TREE_OK): $(TREE_STAMP)
	@mkdir -p $(OUT)
	@$(SUITE)/scripts/setup.sh build m32
	@$(SUITE)/scripts/ksrc.sh check $(KDIR) > $@.tmp || { rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
	@echo "  LIBRARY  KVM selftests library of Linux $$(cat $@) from $(KDIR) ($(KSRC_ORIGIN))"
	@$(SUITE)/scripts/ksrc.sh cflags $(KDIR) > $(OUT)/suite-cflags

# headers_install into the build directory.  Out of tree (O=) keeps KSRC
# untouched; a KSRC that was configured in-tree refuses O=, then the tree's
# own in-tree headers_install is used (as the kernel's selftests would).
$(HDR_STAMP): $(TREE_OK)
	@echo "  HEADERS  $(OUT)/usr/include"
	@$(MAKE) -s -C $(KDIR) O=$(OUT)/kbuild headers_install INSTALL_HDR_PATH=$(OUT)/usr >$(OUT)/headers.log 2>&1 || \
	 $(MAKE) -s -C $(KDIR) headers_install INSTALL_HDR_PATH=$(OUT)/usr >>$(OUT)/headers.log 2>&1 || \
	 { cat $(OUT)/headers.log; echo "headers_install failed in $(KDIR)"; exit 1; }
	@touch $@

suite: $(HDR_STAMP)
	@$(SUBMAKE) suite

# --- install: the layout of the kernel's own kselftest install -------------
# INSTALL_PATH/{run_kselftest.sh,kselftest/,kselftest-list.txt,kvm-msr-suite/}
define install_tree # $(1)=dir $(2)=with unit tests (y/empty)
	@rm -rf $(1) && mkdir -p $(1)/$(COLLECTION)
	@cp $(KDIR)/tools/testing/selftests/run_kselftest.sh $(1)/
	@cp -r $(KDIR)/tools/testing/selftests/kselftest $(1)/
	@cp $(addprefix $(SUITE_OUT)/tests/,$(TESTS) $(COMPAT32)) tests/settings tests/config $(1)/$(COLLECTION)/
	@cp -r tests/baseline $(1)/$(COLLECTION)/
	@cp scripts/run_tests.sh scripts/backend.sh $(1)/$(COLLECTION)/
	@echo "$(TREE_NAME)" > $(1)/$(COLLECTION)/library
	@: > $(1)/kselftest-list.txt
	$(if $(2),@mkdir -p $(1)/$(COLLECTION)-unit && \
		cp $(addprefix $(SUITE_OUT)/tests/unit/,$(UNIT_TESTS)) tests/settings $(1)/$(COLLECTION)-unit/ && \
		for t in $(UNIT_TESTS); do echo "$(COLLECTION)-unit:$$t"; done >> $(1)/kselftest-list.txt)
	@for t in $(TESTS); do echo "$(COLLECTION):$$t"; done >> $(1)/kselftest-list.txt
	$(if $(2),@cp $(SUITE_OUT)/../fuzz/replay/msr_fuzz_replay $(1)/$(COLLECTION)/ && \
		cp -r fuzz/regressions $(1)/$(COLLECTION)/fuzz-regressions && \
		echo "$(COLLECTION):msr_fuzz_replay" >> $(1)/kselftest-list.txt)
endef

install: suite
ifeq ($(INSTALL_PATH),)
	$(error Error: set INSTALL_PATH to use install)
endif
	$(call install_tree,$(abspath $(INSTALL_PATH)))
	@echo "  INSTALL  $(abspath $(INSTALL_PATH)) (run ./run_kselftest.sh there)"

# --- what this machine lacks: SKIP, never a make error ------------------------
# One rule for every target (scripts/need.sh): no /dev/kvm, no permission on
# it, no fuzz engine or no emulator is a SKIP with the reason and the fix.
# A target runs its command as $(STEP) WHAT [--need REQ] -- CMD: a missing
# REQ (kvm, fuzz, vm, ...) skips CMD; CMD's own exit 4 (kselftest SKIP) is
# a SKIP; both print "WHAT: SKIP (reason; fix)" and make goes on.  Any other
# failure fails.  Under make check each step adds its line to the summary.
STEP = $(SUITE)/scripts/need.sh --step

# --- running ------------------------------------------------------------------
RUN_ARGS := $(foreach t,$(TEST),-t $(COLLECTION):$(t))

run_tests: suite
	$(call install_tree,$(OUT)/run)
	@$(OUT)/run/$(COLLECTION)/run_tests.sh --known $(SUITE)/tests/baseline $(OUT)/run $(RUN_ARGS)

# make check: the unit tests and the suite (whose KVM tests SKIP without
# /dev/kvm), the fuzz smoke run, and make check itself once more with
# /dev/kvm hidden (tests/nokvm/check.sh, as root; it SKIPs otherwise).  Ends
# with one line per step.  CHECK_DIR: where it installs (the run without
# /dev/kvm uses its own).
CHECK_DIR := $(OUT)/check
check: export NEED_SUMMARY = $(CHECK_DIR)/summary
check: suite
	$(call install_tree,$(CHECK_DIR),y)
	@: > $(NEED_SUMMARY)
	@$(STEP) "runner verdicts" -- $(SUITE)/tests/runner/run_tests_test.sh
	@$(STEP) "vmtest bochs handling" -- $(SUITE)/tests/vm/vm_bochs_test.sh
	@$(STEP) "kvm-modules/kmutate arguments" -- $(SUITE)/tests/kmodules/args_test.sh
	@$(STEP) suite --want kvm --tally $(COLLECTION)-unit -- $(CHECK_DIR)/$(COLLECTION)/run_tests.sh --baseline $(SUITE)/tests/baseline $(CHECK_DIR) $(RUN_ARGS)
	$(if $(TEST),,@$(MAKE) --no-print-directory fuzz-smoke)
	$(if $(TEST),,@$(STEP) "make check without /dev/kvm" -- $(SUITE)/tests/nokvm/check.sh \
		--log $(OUT)/check-nokvm.log $(MAKE) --no-print-directory -C $(SUITE) O=$(B) KSRC=$(KSRC) CHECK_DIR=$(OUT)/check-nokvm check)
	@$(SUITE)/scripts/need.sh --summary "make check: summary"

# --- fuzzing ---------------------------------------------------------------------
# make fuzz: the engines are installed by scripts/setup.sh fuzz (as root);
# an engine that is still missing is a SKIP with the fix, the others and the
# replay build are built.
FUZZ_OUT := $(OUT)/fuzz
fuzz: suite
	@$(SUITE)/scripts/setup.sh fuzz || echo "  FUZZ     engines missing: what needs them SKIPs"
	@engines=; \
	 for e in libfuzzer afl; do \
		if NEED_SKIPPED= $(SUITE)/scripts/need.sh --what "  FUZZ     $$e" $$e; then engines="$$engines fuzz-$$e"; fi; \
	 done; \
	 echo "  FUZZ     $(FUZZ_OUT)/{replay$$(echo $$engines | sed 's/fuzz-/,/g; s/ //g')}"; \
	 $(SUBMAKE) fuzz-replay $$engines
	@$(SUITE)/scripts/fuzz-seeds.sh $(FUZZ_OUT)/replay/msr_fuzz_replay $(FUZZ_OUT)

# Without /dev/kvm nothing is built for it.
fuzz-smoke:
	@$(STEP) "fuzz smoke" --need kvm -- $(MAKE) --no-print-directory fuzz-smoke-run

fuzz-smoke-run: fuzz
	@$(SUITE)/scripts/fuzz.sh --smoke --build $(FUZZ_OUT)

# Where the fuzz builds are (for scripts/fuzz.sh).
print-fuzz-dir:
	@echo $(FUZZ_OUT)

# For fuzz/build.sh (OSS-Fuzz): the library and guest code built with the
# tree's compiler, the harnesses with OSSFUZZ_CC/OSSFUZZ_CFLAGS/OSSFUZZ_ENGINE.
fuzz-oss: suite
	@$(SUBMAKE) fuzz-replay fuzz-oss
	@$(SUITE)/scripts/fuzz-seeds.sh $(FUZZ_OUT)/replay/msr_fuzz_replay $(FUZZ_OUT)

# Benchmarks (bench/*.c), built with the suite, run one after the other.
bench: suite
	@$(STEP) bench --need kvm -- sh -c 'for b in $(BENCH); do echo "  BENCH    $$b"; \
		$(SUITE_OUT)/bench/$$b || exit $$?; done'

# Line/branch coverage of the model (lib/msr_model.c, lib/msr_catalog.c)
# by the unit tests.
coverage: $(HDR_STAMP)
	@$(SUITE)/scripts/coverage.sh $(KDIR) $(OUT)/usr/include $(OUT)/coverage

# --- other kernels, under QEMU (never part of check: it boots VMs) --------
# KSRC given on the command line is the library for the VM's suite too;
# otherwise vmtest.sh picks the one that matches the kernel it boots.
VMTEST_KSRC = $(if $(filter KSRC,$(KSRC_ORIGIN)),--ksrc $(KSRC))

vmtest:
	@$(STEP) vmtest -- $(SUITE)/scripts/vmtest.sh $(if $(KERNEL),--kernel $(KERNEL)) \
		$(if $(MODULES),--modules $(MODULES)) $(VMTEST_KSRC) $(VMTEST_ARGS) \
		$(if $(TEST),-- $(RUN_ARGS))

matrix:
	@$(STEP) matrix -- $(SUITE)/scripts/matrix.sh $(KERNELS)

# KVM modules built from a tree (never part of check: a kernel build).
kvm-modules:
	@$(SUITE)/scripts/kvm-modules.sh $(or $(KVM_TREE),$(error KVM_TREE=dir: a Linux 6.12.x or 6.1.x tree, e.g. $$(scripts/kvm-modules.sh --debian-tree 6.12)))

kmutate:
	@$(SUITE)/scripts/kmutate.sh $(or $(KMUTANTS),$(SUITE)/tests/kmutants)

.PHONY: fuzz fuzz-smoke fuzz-smoke-run print-fuzz-dir fuzz-oss vmtest matrix kvm-modules kmutate

clean:
	rm -rf $(B)

print-%:
	@echo '$($*)'

.PHONY: all suite install run_tests check coverage bench clean
