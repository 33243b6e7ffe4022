/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Glue between kvm-msr-suite tests and the kselftest harness / KVM selftests
 * library: a main() that SKIPs the whole binary without KVM, and a KVM_RUN
 * that cannot hang.
 */
#ifndef KVM_MSR_SUITE_SUITE_H
#define KVM_MSR_SUITE_SUITE_H

#include <stdio.h>

#include "compat.h"

/* Upper bound of any single KVM_RUN in the suite, in seconds. */
#define SUITE_KVM_RUN_TIMEOUT_S 10

/*
 * Before the harness runs anything: SKIP the whole binary (exit KSFT_SKIP,
 * with the reason) when /dev/kvm cannot be opened, so that CI reports SKIP
 * instead of a FAIL per subtest.  Listing (-l) and help (-h) need no KVM.
 */
void suite_init(int argc, char **argv);

/*
 * KVM_RUN bounded by SUITE_KVM_RUN_TIMEOUT_S: a vCPU that does not come back
 * fails the test with a message instead of hanging CI.  Returns the ioctl's
 * result (0 or -1 with errno) like the library's _vcpu_run().
 */
int suite_vcpu_run(struct kvm_vcpu *vcpu);

/*
 * One KVM_RUN ioctl, bounded like suite_vcpu_run() but not retried on EINTR
 * (for tests of immediate_exit and signals).
 */
int suite_vcpu_run_once(struct kvm_vcpu *vcpu);

/* A diagnostic line ("# ..." on stderr, as TH_LOG); @ctx is unused. */
void suite_report(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A block of "# " diagnostic lines written with one write(), so that the
 * blocks of several processes on one pipe do not interleave (writes up to
 * PIPE_BUF are atomic).  A line that does not fit is cut.
 */
struct suite_text {
	char buf[8192];
	size_t len;
};

void suite_text_line(struct suite_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write the block to @out (stdout flushed first), empty it. */
void suite_text_flush(struct suite_text *t, FILE *out);

/* @size bytes of zeroed memory shared with the processes forked later (munmap() it). */
void *suite_shared(size_t size);

/*
 * @fn(w, @n, @arg) in @n processes: w = 0 in this one, the others forked,
 * each with its own KVM_RUN bound (the alarm is per process); what they
 * find goes back through suite_shared() memory.  Returns the workers (bits)
 * that did not exit 0, each said on stderr.
 */
unsigned int suite_fork_workers(void (*fn)(unsigned int w, unsigned int n, void *arg), void *arg,
				unsigned int n);

/* KVM_RUN that must succeed (bounded). */
void suite_vcpu_run_ok(struct kvm_vcpu *vcpu);

#endif
