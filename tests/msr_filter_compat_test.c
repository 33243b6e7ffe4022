// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_X86_SET_MSR_FILTER from 32-bit userspace (kvm_arch_vm_compat_ioctl()):
 * a filter installed by a -m32 process (tests/compat32/msr_filter_set32, in
 * its own VM: KVM refuses VM ioctls from other processes) must have exactly
 * the effect of the same filter installed from 64-bit userspace.  Both VMs
 * run the same probes (msr_filter_probes[]); the ioctl results and the exits
 * must match each other and the model (msr_model_filter_install(),
 * msr_model_filter_allows()).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suite_test.h"
#include "msr_catalog.h"
#include "msr_filter_specs.h"
#include "msr_filter_probe.h"
#include "msr_guest.h"
#include "msr_model.h"
#include "msr_names.h"

#define HELPER "msr_filter_set32"

/* The 64-bit side: the library's VM and the guest payload. */
static void run_64bit(struct kvm_msr_filter *f, struct msr_probe_log *log)
{
	struct guest_msr_vcpu g;

	msr_filter_probe_vcpu_create(&g);
	log->filter_err = __vm_ioctl(g.vm, KVM_X86_SET_MSR_FILTER, f) ? errno : 0;
	msr_filter_probe_run(&g, log);
	guest_msr_vcpu_free(&g);
}

/*
 * The 32-bit side: msr_filter_set32 SPEC, parsing its report.  Returns
 * false when the backend cannot run its guest (it exits with KSFT_SKIP).
 */
static bool run_32bit(const char *helper, unsigned int spec, struct msr_probe_log *log)
{
	char spec_arg[16], line[64];
	unsigned int i, n = 0;
	int pipefd[2], status;
	uint32_t reason;
	FILE *out;
	pid_t pid;

	snprintf(spec_arg, sizeof(spec_arg), "%u", spec);
	TEST_ASSERT(!pipe(pipefd), "pipe failed");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork failed");
	if (!pid) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		execl(helper, helper, spec_arg, NULL);
		_exit(255);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	while (fgets(line, sizeof(line), out)) {
		if (sscanf(line, "filter %d", &log->filter_err) == 1)
			continue;
		if (sscanf(line, "probe %u %u", &i, &reason) == 2 && i < MSR_FILTER_PROBES) {
			log->reason[i] = reason;
			n++;
		}
	}
	fclose(out);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status),
		    "%s %s did not exit normally", helper, spec_arg);
	if (WEXITSTATUS(status) == KSFT_SKIP)
		return false;
	TEST_ASSERT(!WEXITSTATUS(status) && n == MSR_FILTER_PROBES,
		    "%s %s failed (exit %d, %u of %zu probes reported)", helper, spec_arg,
		    WEXITSTATUS(status), n, MSR_FILTER_PROBES);
	return true;
}

static void helper_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	TEST_ASSERT(n > 0, "readlink(/proc/self/exe) failed");
	self[n] = '\0';
	snprintf(buf, len, "%s/%s", dirname(self), HELPER);
}

static uint8_t bitmaps[MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];

/* Check one spec; returns the number of mismatches (each logged), -1: SKIP. */
static int check_spec(const char *helper, unsigned int spec)
{
	const struct msr_filter_spec *s = &msr_compat_filter_specs[spec];
	struct msr_model_mem_region regions[MSR_SPEC_MAX_RANGES];
	struct msr_probe_log log32 = { 0 }, log64 = { 0 };
	struct msr_model_filter_state state;
	struct msr_model_mem mem;
	struct msr_verdict want;
	struct kvm_msr_filter f;
	char what[128];
	int bad = 0;

	msr_filter_spec_build(s, &f, bitmaps);
	msr_filter_spec_mem(bitmaps, regions, &mem);
	msr_model_filter_state_init(&state);
	want = msr_model_filter_install(&state, &f, &mem);

	if (!run_32bit(helper, spec, &log32))
		return -1;
	run_64bit(&f, &log64);

	if (log32.filter_err != want.err || log64.filter_err != want.err) {
		suite_report(NULL, "%s: KVM_X86_SET_MSR_FILTER expected %s (rule %s), got %s from 32-bit, %s from 64-bit",
			     s->name, want.err ? strerror(want.err) : "success", msr_rule_name(want.rule),
			     log32.filter_err ? strerror(log32.filter_err) : "success",
			     log64.filter_err ? strerror(log64.filter_err) : "success");
		bad++;
	}
	snprintf(what, sizeof(what), "%s installed from 32-bit userspace", s->name);
	bad += msr_filter_probe_check(&state, &log32, what);
	snprintf(what, sizeof(what), "%s installed from 64-bit userspace", s->name);
	bad += msr_filter_probe_check(&state, &log64, what);
	return bad;
}

TEST(same_effect_as_64bit)
{
	char helper[PATH_MAX];
	unsigned int spec, bad = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	helper_path(helper, sizeof(helper));
	if (access(helper, X_OK))
		SKIP(return, HELPER " not built (needs gcc-multilib: scripts/setup.sh m32)");

	for (spec = 0; spec < MSR_COMPAT_FILTER_SPECS; spec++) {
		int r = check_spec(helper, spec);

		if (r < 0)
			SKIP(return, "the backend cannot run %s's real-mode guest", HELPER);
		bad += r;
	}
	msr_div_tally_print(&msr_filter_probe_tally, "global.same_effect_as_64bit", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: %s -r global.same_effect_as_64bit",
				 bad, "msr_filter_compat_test");
}

SUITE_HARNESS_MAIN
