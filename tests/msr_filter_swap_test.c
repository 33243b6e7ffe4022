// SPDX-License-Identifier: GPL-2.0
/*
 * Atomic filter replacement under concurrency (api.rst 4.97: the new filter
 * replaces the old one as a whole): vCPU threads run the filter probes in a
 * loop while the host swaps between filters A and B that decide them
 * differently.  Every single access must be explained by A or by B (the
 * model's prediction for either), never by a mix, a missing filter or
 * anything else.  Bounded in time; reports accesses and swaps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "suite_test.h"
#include "msr_filter_probe.h"
#include "msr_host.h"
#include "msr_names.h"

#define NR_VCPUS	2
#define REPEATS		40		/* probe rounds per guest program */
#define SWAP_NS		1000000000ull	/* how long the host keeps swapping */

struct swap_worker {
	struct guest_msr_vcpu g;
	pthread_t thread;
	const uint32_t *want_a, *want_b;
	atomic_bool *stop;
	uint64_t accesses, unexplained;
	unsigned int checked[MSR_FILTER_PROBES], failed[MSR_FILTER_PROBES];
	uint32_t reason[REPEATS * MSR_FILTER_PROBES];
};

static void record(struct kvm_run *run, uint32_t op, void *ctx)
{
	struct swap_worker *w = ctx;

	w->reason[op] = run->msr.reason;
	run->msr.error = 0;
	run->msr.data = 0;
}

/* swap.<msr>.<op>.explained (lib/msr_divergence.h). */
static const char *swap_sig(char *buf, size_t len, unsigned int p)
{
	return msr_div_sig(buf, len, "swap", msr_filter_probes[p].index,
			   msr_filter_probes[p].write ? "wrmsr" : "rdmsr", "explained");
}

static void *swap_worker_run(void *arg)
{
	struct swap_worker *w = arg;
	unsigned int i;

	guest_msr_prog_clear(&w->g);
	for (i = 0; i < REPEATS * MSR_FILTER_PROBES; i++) {
		const struct msr_filter_probe *p = &msr_filter_probes[i % MSR_FILTER_PROBES];

		guest_msr_prog_add(&w->g, p->write ? GUEST_WRMSR : GUEST_RDMSR, p->index, 0);
	}
	while (!atomic_load(w->stop)) {
		memset(w->reason, 0, sizeof(w->reason));
		guest_msr_run(&w->g, record, w);
		for (i = 0; i < REPEATS * MSR_FILTER_PROBES; i++) {
			unsigned int p = i % MSR_FILTER_PROBES;

			w->accesses++;
			w->checked[p]++;
			if (w->reason[i] == w->want_a[p] || w->reason[i] == w->want_b[p])
				continue;
			w->failed[p]++;
			if (w->unexplained++ < 10) {
				char sig[MSR_SIG_LEN];

				suite_report(NULL, "vCPU %u: %s %s (%#x): msr.reason %u, explained neither by A (%u) nor by B (%u)\n#   signature: %s",
					     w->g.vcpu->id, msr_filter_probes[p].write ? "WRMSR" : "RDMSR",
					     msr_name(msr_filter_probes[p].index),
					     msr_filter_probes[p].index, w->reason[i], w->want_a[p],
					     w->want_b[p], swap_sig(sig, sizeof(sig), p));
			}
		}
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

TEST(swap_is_atomic)
{
	static uint8_t bitmaps[2][MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_mem_region regions[2][MSR_SPEC_MAX_RANGES];
	struct msr_model_filter_state state[2];
	uint32_t want[2][MSR_FILTER_PROBES];
	static struct swap_worker w[NR_VCPUS];
	struct kvm_msr_filter f[2];
	atomic_bool stop = false;
	uint64_t swaps = 0, accesses = 0, unexplained = 0, end;
	struct timespec gap = { .tv_nsec = 50000 };	/* > 25 us: expedited SRCU */
	unsigned int i, s;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));

	for (s = 0; s < 2; s++) {
		struct msr_model_mem mem;

		msr_filter_spec_build(&msr_swap_filter_specs[s], &f[s], bitmaps[s]);
		msr_filter_spec_mem(bitmaps[s], regions[s], &mem);
		msr_model_filter_state_init(&state[s]);
		ASSERT_EQ(0, msr_model_filter_install(&state[s], &f[s], &mem).err);
		for (i = 0; i < MSR_FILTER_PROBES; i++)
			want[s][i] = msr_filter_probe_expected(&state[s], i);
	}

	msr_filter_probe_vcpu_create(&w[0].g);
	for (i = 1; i < NR_VCPUS; i++)
		guest_msr_vcpu_add(&w[i].g, &w[0].g, i);
	vm_ioctl(w[0].g.vm, KVM_X86_SET_MSR_FILTER, &f[0]);

	for (i = 0; i < NR_VCPUS; i++) {
		w[i].want_a = want[0];
		w[i].want_b = want[1];
		w[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, swap_worker_run, &w[i]));
	}
	for (end = now_ns() + SWAP_NS; now_ns() < end; swaps++) {
		nanosleep(&gap, NULL);
		TEST_ASSERT(!__vm_ioctl(w[0].g.vm, KVM_X86_SET_MSR_FILTER, &f[(swaps + 1) & 1]),
			    "KVM_X86_SET_MSR_FILTER of %s failed: %s",
			    msr_swap_filter_specs[(swaps + 1) & 1].name, strerror(errno));
	}
	atomic_store(&stop, true);
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_join(w[i].thread, NULL);
		accesses += w[i].accesses;
		unexplained += w[i].unexplained;
	}
	/* Every access against the baseline, per probe, in the vCPUs' setting. */
	{
		static struct msr_div_tally tally;
		struct msr_div_case c;
		char sig[MSR_SIG_LEN];

		msr_div_case_host(&c);
		for (s = 0; s < MSR_FILTER_PROBES; s++)
			for (i = 0; i < NR_VCPUS; i++)
				msr_div_check_n(&tally, swap_sig(sig, sizeof(sig), s), &c,
						w[i].checked[s], w[i].failed[s]);
		msr_div_tally_print(&tally, "global.swap_is_atomic", stderr);
	}
	kvm_vm_free(w[0].g.vm);

	ksft_print_msg("%llu accesses on %u vCPUs during %llu filter swaps, %llu unexplained\n",
		       (unsigned long long)accesses, NR_VCPUS, (unsigned long long)swaps,
		       (unsigned long long)unexplained);
	EXPECT_GT(swaps, 1);
	EXPECT_GT(accesses, 0);
	EXPECT_EQ(0, unexplained) TH_LOG("rerun: msr_filter_swap_test -r global.swap_is_atomic");
}

SUITE_HARNESS_MAIN
