// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of the filter x exit-reason matrix workload: every group of
 * tests/msr_filter_exit_matrix_test.c (filter state x class, native path;
 * forced emulation too when kvm.force_emulation_prefix is on), run in one
 * process on reused VMs: one VM that never gets a filter for never_set,
 * one for the other filter states.
 *
 * Prints cases, exits, filter installs, wall time, cases/s and the ratio of
 * the wall time to the raw cost bound measured on the development host:
 * exits x 7.5 us (userspace MSR exit round trip) + installs x 10 us
 * (KVM_X86_SET_MSR_FILTER with an expedited SRCU grace period).
 *
 *   msr_matrix_bench [-v] [-j N]
 *	-v	also print the failing cases (as the test does)
 *	-j N	N worker processes (1..MX_WORKERS, default MX_WORKERS)
 *
 * Failures are counted, not judged: known divergences of the backend fail
 * here too (tests/baseline/); the test reports them.  Exit status 0.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suite.h"
#include "msr_matrix.h"

#define EXIT_ROUND_TRIP_NS	7500.0
#define FILTER_INSTALL_NS	10000.0

/* The native groups of the test, by name. */
static const struct {
	const char *test;
	unsigned int classes;
} native_groups[] = {
	{ "valid", MX_CLASS_BIT(MX_CLASS_VALID) },
	{ "unknown", MX_CLASS_BIT(MX_CLASS_UNKNOWN) },
	{ "reserved_bits", MX_CLASS_BIT(MX_CLASS_RESERVED_BITS) },
	{ "pat_type", MX_CLASS_BIT(MX_CLASS_PAT_TYPE) },
	{ "non_canonical", MX_CLASS_BIT(MX_CLASS_NON_CANONICAL) },
	{ "refused", MX_CLASS_BIT(MX_CLASS_REFUSED) },
	{ "x2apic", MX_X2APIC_CLASSES },
};

struct bench {
	bool fep;
	uint64_t vm_ns[MX_WORKERS];	/* creating the worker's VMs */
};

static void share(struct msr_vm *vm, enum mx_filter_state state, unsigned int classes,
		  enum msr_path path, const char *test, unsigned int w, unsigned int n,
		  struct mx_result *res)
{
	struct mx_group grp = { state, classes, path, NULL };
	char name[128];

	snprintf(name, sizeof(name), "msr_matrix.%s.%s", mx_filter_state_name(state), test);
	grp.name = name;
	mx_run_share(vm, &grp, w, n, res);
	res->st.groups++;
}

/* Worker @w: its share of every group, on two VMs it keeps throughout. */
static void worker(unsigned int w, unsigned int n, void *arg, struct mx_result *res)
{
	struct bench *b = arg;
	struct msr_vm *never = calloc(1, sizeof(*never)), *vm = calloc(1, sizeof(*vm));
	enum mx_filter_state state;
	uint64_t t0 = msr_now_ns();
	unsigned int c;

	TEST_ASSERT(never && vm, "out of memory");
	msr_vm_create(never, MSR_CPUID_ABSENT, 0);	/* never gets a filter: never_set */
	msr_vm_create(vm, MSR_CPUID_ABSENT, 0);
	b->vm_ns[w] = msr_now_ns() - t0;
	for (state = MX_NEVER_SET; state < MX_FILTER_STATES; state++) {
		struct msr_vm *v = state == MX_NEVER_SET ? never : vm;

		for (c = 0; c < ARRAY_SIZE(native_groups); c++)
			share(v, state, native_groups[c].classes, MSR_PATH_NATIVE,
			      native_groups[c].test, w, n, res);
		if (b->fep)
			share(v, state, MX_ALL_CLASSES, MSR_PATH_FORCED_EMULATION,
			      "forced_emulation", w, n, res);
	}
	msr_vm_free(never);
	msr_vm_free(vm);
	free(never);
	free(vm);
}

int main(int argc, char **argv)
{
	unsigned int workers = MX_WORKERS;
	struct mx_result res = { 0 };
	bool verbose = false;
	struct bench *b;
	uint64_t t0, wall;
	double bound;
	int opt;

	while ((opt = getopt(argc, argv, "vj:")) != -1) {
		if (opt == 'v') {
			verbose = true;
		} else if (opt == 'j' && atoi(optarg) >= 1 && atoi(optarg) <= MX_WORKERS) {
			workers = atoi(optarg);
		} else {
			fprintf(stderr, "usage: %s [-v] [-j 1..%u]\n", argv[0], MX_WORKERS);
			return 2;
		}
	}
	res.silent = !verbose;
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(b != MAP_FAILED, "mmap");
	b->fep = suite_forced_emulation_enabled();

	t0 = msr_now_ns();
	mx_run_workers(worker, b, workers, &res);
	wall = msr_now_ns() - t0;
	if (verbose)
		mx_print_failure_summary(&res, "msr_matrix_bench");

	bound = res.st.exits * EXIT_ROUND_TRIP_NS + res.st.installs * FILTER_INSTALL_NS;
	printf("msr_matrix_bench: %llu groups on %u processes (2 VMs each, reused), "
	       "forced emulation %s\n", (unsigned long long)res.st.groups / workers,
	       workers, b->fep ? "included" : "off (not run)");
	printf("  cases           %llu\n", (unsigned long long)res.st.cases);
	printf("  exits           %llu\n", (unsigned long long)res.st.exits);
	printf("  filter installs %llu (%llu delayed to keep %llu us after the previous one)\n",
	       (unsigned long long)res.st.installs, (unsigned long long)res.st.install_waits,
	       MSR_INSTALL_GAP_NS / 1000);
	printf("  guest programs  %llu\n", (unsigned long long)res.st.runs);
	printf("  wall time       %.3f s (creating the VMs: %.1f ms)\n", wall / 1e9,
	       b->vm_ns[0] / 1e6);
	printf("  cases/s         %.0f\n", res.st.cases / (wall / 1e9));
	printf("  raw cost bound  %.3f s (exits x 7.5 us + installs x 10 us, one core)\n",
	       bound / 1e9);
	printf("  ratio           %.2f x the bound (%.2f x per process)\n", wall / bound,
	       wall * workers / bound);
	printf("  failing checks  %llu (known divergences included; -v lists them)\n",
	       (unsigned long long)res.failures);
	return 0;
}
