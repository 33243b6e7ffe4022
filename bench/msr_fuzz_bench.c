// SPDX-License-Identifier: GPL-2.0
/*
 * Executions per second of each fuzz target in one process, on the
 * target's generated seed corpus (the typical inputs), next to the raw cost
 * bound measured in the same run: what the KVM operations an input needs
 * cost on this host when issued back to back with nothing else around them.
 *
 *   msr_fuzz_bench [SECONDS_PER_TARGET]      (default 2)
 *
 * Raw costs measured first, on a VM of the bench's own running the guest
 * payload: a KVM_RUN that only ends the program, a guest RDMSR handled in
 * the kernel, a guest RDMSR that exits to userspace, a spaced
 * KVM_X86_SET_MSR_FILTER, a one-entry KVM_GET_MSRS.  The bound of a target
 * is its own per-input operation counts (fuzz_stats, counted by the runtime
 * and the targets during the timed loop) priced with those costs; "ratio"
 * is exec/s over the bound's exec/s.  Figures, not pass/fail: the machines
 * are noisy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "msr_guest.h"
#include "suite.h"

struct seed_set {
	unsigned int n;
	size_t bytes;
	uint8_t *data[512];
	size_t len[512];
};

static void keep_seed(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	struct seed_set *s = e->ctx;

	(void)name;
	if (s->n == 512)
		return;
	s->data[s->n] = malloc(o->n ? o->n : 1);
	memcpy(s->data[s->n], o->buf, o->n);
	s->len[s->n] = o->n;
	s->bytes += o->n;
	s->n++;
}

static void no_token(struct fuzz_emit *e, const char *name, const void *p, size_t len)
{
	(void)e, (void)name, (void)p, (void)len;
}

struct raw_costs {
	double run_us;		/* KVM_RUN ending an empty program */
	double op_us;		/* + one handled guest RDMSR */
	double exit_us;		/* + one guest RDMSR exiting to userspace (extra over op) */
	double install_us;	/* spaced KVM_X86_SET_MSR_FILTER */
	double ioctl_us;	/* one-entry KVM_GET_MSRS */
};

static void answer(struct kvm_run *run, uint32_t op, void *ctx)
{
	(void)op, (void)ctx;
	run->msr.error = 0;
	run->msr.data = 0;
}

static double time_runs(struct guest_msr_vcpu *g, unsigned int iters)
{
	uint64_t t0 = msr_now_ns();
	unsigned int i;

	for (i = 0; i < iters; i++)
		guest_msr_run(g, answer, NULL);
	return (msr_now_ns() - t0) / 1000.0 / iters;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void measure_raw(struct raw_costs *c)
{
	struct { struct kvm_msrs h; struct kvm_msr_entry e[1]; } msrs = {
		.h.nmsrs = 1, .e[0].index = 0xc0000081 };
	static uint8_t bitmap[KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	struct guest_msr_vcpu g;
	uint64_t last = 0, t0, took[201];
	double empty, handled, exiting;
	unsigned int i;

	guest_msr_vcpu_create(&g);
	guest_msr_prog_done_port(&g, true);
	vm_enable_cap(g.vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_UNKNOWN);

	guest_msr_prog_clear(&g);
	time_runs(&g, 50);
	empty = time_runs(&g, 1000);
	guest_msr_prog_add(&g, GUEST_RDMSR, 0xc0000081, 0);	/* MSR_STAR: handled */
	handled = time_runs(&g, 1000);
	guest_msr_prog_clear(&g);
	guest_msr_prog_add(&g, GUEST_RDMSR, 0xdeadbeef, 0);	/* no handler: UNKNOWN exit */
	exiting = time_runs(&g, 1000);

	f.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ,
		.base = 0x10000, .nmsrs = 64, .bitmap = bitmap };
	fuzz_set_msr_filter(g.vm, &f, &last);	/* the first one waits for SRCU */
	for (i = 0; i < 200; i++) {
		t0 = msr_now_ns();
		while (msr_now_ns() - last < MSR_INSTALL_GAP_NS)
			;
		t0 = msr_now_ns();
		fuzz_set_msr_filter(g.vm, &f, &last);
		took[i] = last - t0;
	}
	/* The median: a grace period that is not expedited (milliseconds) is an outlier. */
	qsort(took, 200, sizeof(took[0]), cmp_u64);
	c->install_us = took[100] / 1000.0;

	t0 = msr_now_ns();
	for (i = 0; i < 20000; i++)
		ioctl(g.vcpu->fd, KVM_GET_MSRS, &msrs);
	c->ioctl_us = (msr_now_ns() - t0) / 1000.0 / 20000;

	c->run_us = empty;
	c->op_us = handled - empty;
	c->exit_us = exiting - empty;
	guest_msr_vcpu_free(&g);
}

static const struct {
	const struct fuzz_target *t;
	unsigned int goal;	/* exec/s per process (issue 6) */
} targets[] = {
	{ &fuzz_target_msr_filter, 5000 },
	{ &fuzz_target_msr_exit, 10000 },
	{ &fuzz_target_msrs_ioctl, 20000 },
};

static void bench_target(const struct fuzz_target *t, unsigned int goal, double seconds,
			 const struct raw_costs *c)
{
	struct seed_set s = { 0 };
	struct fuzz_emit e = { .seed = keep_seed, .token = no_token, .ctx = &s };
	struct fuzz_stats before, d;
	uint64_t t0, elapsed, n = 0;
	double eps, bound_us, bound_eps;
	unsigned int i;

	t->seeds(&e);
	if (!s.n) {
		printf("  %-11s no seeds\n", t->name);
		return;
	}
	for (i = 0; i < s.n; i++)	/* warm-up: VMs, first filter installs */
		fuzz_run_one(t, s.data[i], s.len[i]);

	before = fuzz_stats;
	t0 = msr_now_ns();
	do {
		for (i = 0; i < s.n; i++, n++)
			fuzz_run_one(t, s.data[i], s.len[i]);
		elapsed = msr_now_ns() - t0;
	} while (elapsed < seconds * 1e9);

	d.kvm_runs = fuzz_stats.kvm_runs - before.kvm_runs;
	d.exits = fuzz_stats.exits - before.exits;
	d.guest_ops = fuzz_stats.guest_ops - before.guest_ops;
	d.filter_installs = fuzz_stats.filter_installs - before.filter_installs;
	d.install_waits = fuzz_stats.install_waits - before.install_waits;
	d.ioctls = fuzz_stats.ioctls - before.ioctls;
	d.known = fuzz_stats.known - before.known;

	eps = n / (elapsed / 1e9);
	/* Exits are also guest ops: an exiting op costs exit_us, others op_us. */
	bound_us = (d.kvm_runs - d.exits) * c->run_us + (d.guest_ops - d.exits) * c->op_us +
		   d.exits * (c->run_us + c->exit_us) + d.filter_installs * c->install_us +
		   d.ioctls * c->ioctl_us;
	bound_us /= n;
	bound_eps = bound_us > 0 ? 1e6 / bound_us : 0;

	printf("  %-11s %7.0f exec/s (goal %u: %s)  %u seeds, mean %zu bytes\n", t->name, eps, goal,
	       eps >= goal ? "met" : "NOT met", s.n, s.bytes / s.n);
	printf("  %-11s per input: %.2f KVM_RUN, %.2f guest ops, %.2f exits, %.2f filter installs "
	       "(%.3f delayed), %.2f MSR ioctls; known divergences %llu\n", "",
	       (double)d.kvm_runs / n, (double)d.guest_ops / n, (double)d.exits / n,
	       (double)d.filter_installs / n, (double)d.install_waits / n, (double)d.ioctls / n,
	       (unsigned long long)d.known);
	printf("  %-11s raw cost bound %.1f us/input = %.0f exec/s; ratio %.2f of the bound\n", "",
	       bound_us, bound_eps, bound_eps ? eps / bound_eps : 0);
	for (i = 0; i < s.n; i++)
		free(s.data[i]);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	struct raw_costs c;
	unsigned int i;

	suite_init(argc, argv);
	measure_raw(&c);
	printf("msr_fuzz_bench: one process, %.1f s per target on its seed corpus\n", seconds);
	printf("  raw costs     KVM_RUN %.1f us, handled guest op +%.1f us, exiting guest op +%.1f us,\n"
	       "                spaced filter install %.1f us, KVM_GET_MSRS(1) %.2f us\n",
	       c.run_us, c.op_us, c.exit_us, c.install_us, c.ioctl_us);
	/* A divergence in the bench is printed, not aborted; known ones are counted. */
	fuzz_keep_going = true;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (!targets[i].t)
			continue;
		fuzz_init(targets[i].t);
		bench_target(targets[i].t, targets[i].goal, seconds, &c);
	}
	return 0;
}
