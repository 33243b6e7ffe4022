// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "msr_filter_probe.h"
#include "msr_host.h"
#include "msr_names.h"
#include "suite.h"

struct msr_div_tally msr_filter_probe_tally;
static struct msr_div_case probe_case;

void msr_filter_probe_vcpu_create(struct guest_msr_vcpu *g)
{
	struct msr_host_info host;
	struct msr_vcpu_model m;
	unsigned int i;

	/* The probes rely on the catalog: UNKNOWN indices, EFER only read. */
	for (i = 0; i < MSR_FILTER_PROBES; i++) {
		const struct msr_catalog_entry *e = msr_catalog_table_find(msr_filter_probes[i].index);

		TEST_ASSERT(e && (e->class == MSR_CLASS_UNKNOWN || !msr_filter_probes[i].write),
			    "probe %#x is no longer an UNKNOWN catalog MSR", msr_filter_probes[i].index);
	}
	guest_msr_vcpu_create(g);
	vm_enable_cap(g->vm, KVM_CAP_X86_USER_SPACE_MSR, MSR_FILTER_PROBE_MASK);
	msr_host_info_get(&host);
	msr_vcpu_model_from_host(&m, &host, g->vcpu);
	msr_div_case_of(&probe_case, &m);
}

static void record_exit(struct kvm_run *run, uint32_t op, void *ctx)
{
	struct msr_probe_log *log = ctx;

	if (op < MSR_FILTER_PROBES)
		log->reason[op] = run->msr.reason;
	run->msr.error = 0;
	run->msr.data = 0;
}

void msr_filter_probe_run(struct guest_msr_vcpu *g, struct msr_probe_log *log)
{
	unsigned int i;

	guest_msr_prog_clear(g);
	for (i = 0; i < MSR_FILTER_PROBES; i++)
		guest_msr_prog_add(g, msr_filter_probes[i].write ? GUEST_WRMSR : GUEST_RDMSR,
				   msr_filter_probes[i].index, 0);
	memset(log->reason, 0, sizeof(log->reason));
	guest_msr_run(g, record_exit, log);
}

uint32_t msr_filter_probe_expected(const struct msr_model_filter_state *s, unsigned int i)
{
	const struct msr_filter_probe *p = &msr_filter_probes[i];
	const struct msr_catalog_entry *e = msr_catalog_table_find(p->index);
	uint32_t type = p->write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;

	if (!msr_model_filter_allows(s, p->index, type).allowed)
		return KVM_MSR_EXIT_REASON_FILTER;
	return e && e->class == MSR_CLASS_UNKNOWN ? KVM_MSR_EXIT_REASON_UNKNOWN : 0;
}

unsigned int msr_filter_probe_check(const struct msr_model_filter_state *s,
				    const struct msr_probe_log *log, const char *what)
{
	unsigned int i, bad = 0;

	for (i = 0; i < MSR_FILTER_PROBES; i++) {
		const struct msr_filter_probe *p = &msr_filter_probes[i];
		uint32_t want = msr_filter_probe_expected(s, i);

		bad += !msr_div_expect(&msr_filter_probe_tally, &probe_case, log->reason[i] == want,
				       "filter_probe", p->index, p->write ? "wrmsr" : "rdmsr", "reason",
				       "%s: guest %s %s (%#x): expected msr.reason %u, got %u (0: no exit)",
				       what, p->write ? "WRMSR" : "RDMSR", msr_name(p->index), p->index,
				       want, log->reason[i]);
	}
	return bad;
}

unsigned int msr_filter_install_and_probe(struct guest_msr_vcpu *g,
					  struct msr_model_filter_state *s,
					  struct kvm_msr_filter *f,
					  const struct msr_model_mem *mem, const char *what,
					  struct msr_verdict *want)
{
	struct msr_probe_log log;
	unsigned int bad = 0;
	char after[192];
	int err;

	*want = msr_model_filter_install(s, f, mem);
	err = __vm_ioctl(g->vm, KVM_X86_SET_MSR_FILTER, f) ? errno : 0;
	bad += !msr_div_expect_sig(&msr_filter_probe_tally, &probe_case, err == want->err,
				   "filter_probe.none.filter.errno",
				   "%s: KVM_X86_SET_MSR_FILTER expected %s (rule %s, range %d), got %s",
				   what, want->err ? strerror(want->err) : "success",
				   msr_rule_name(want->rule), want->range,
				   err ? strerror(err) : "success");
	snprintf(after, sizeof(after), "after %s (%s)", what,
		 want->err ? "rejected: the previous filter must stay" : "accepted");
	msr_filter_probe_run(g, &log);
	return bad + msr_filter_probe_check(s, &log, after);
}

void msr_filter_spec_mem(uint8_t bitmaps[][KVM_MSR_FILTER_MAX_BITMAP_SIZE],
			 struct msr_model_mem_region *regions, struct msr_model_mem *mem)
{
	unsigned int i;

	for (i = 0; i < MSR_SPEC_MAX_RANGES; i++)
		regions[i] = (struct msr_model_mem_region){
			(uintptr_t)bitmaps[i], KVM_MSR_FILTER_MAX_BITMAP_SIZE, bitmaps[i] };
	*mem = (struct msr_model_mem){ regions, MSR_SPEC_MAX_RANGES };
}
