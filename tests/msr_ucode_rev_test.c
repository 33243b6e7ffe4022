// SPDX-License-Identifier: GPL-2.0
/*
 * MSR_IA32_UCODE_REV, the microcode revision the guest sees: userspace sets
 * it (before and after KVM_RUN) so that it stays the same across live
 * migration; the guest reads exactly that, guest writes change nothing, and
 * the system fd reports the host's revision in the vendor's placement
 * (Intel: bits 63:32, AMD: bits 31:0).  Expectations from the model
 * (msr_model_ucode_*(), msr_model_guest_access() with the catalog's facts).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "suite_test.h"
#include "msr_catalog.h"
#include "msr_divergence.h"
#include "msr_guest.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_probe.h"

#define UCODE MSR_MODEL_UCODE_REV

struct ucode_env {
	struct guest_msr_vcpu g;
	struct msr_catalog catalog;
	struct msr_vcpu_model model;
	struct msr_host_info host;
	bool has_run;
	uint64_t cur;			/* what the model says the MSR holds */
	struct msr_div_case c;		/* the setting, for the baseline */
};

/* Every check: ucode.msr_ia32_ucode_rev.<op>.<check> (lib/msr_divergence.h). */
static struct msr_div_tally tally;

static void env_init(struct ucode_env *e)
{
	guest_msr_vcpu_create(&e->g);
	msr_catalog_init(&e->catalog);
	msr_probe_catalog(&e->catalog, e->g.vcpu);
	msr_host_info_get(&e->host);
	msr_vcpu_model_from_host(&e->model, &e->host, e->g.vcpu);
	e->has_run = false;
	e->cur = msr_catalog_find(&e->catalog, UCODE)->probe.host_value;
	msr_div_case_of(&e->c, &e->model);
}

/* Host KVM_SET_MSRS of @value, checked against the model. */
static unsigned int host_set(struct ucode_env *e, uint64_t value, const char *when)
{
	struct msr_verdict want = msr_model_ucode_host_write(e->has_run, e->cur, value);
	uint64_t data = value;
	int r = msr_ioctl_one(e->g.vcpu->fd, KVM_SET_MSRS, UCODE, &data);

	if (!want.err)
		e->cur = value;
	return !msr_div_expect(&tally, &e->c, r == (want.err ? 0 : 1), "ucode", UCODE, "set", "count",
			       "%s: KVM_SET_MSRS of MSR_IA32_UCODE_REV = %#llx returned %d, expected %d (rule %s)",
			       when, (unsigned long long)value, r, want.err ? 0 : 1,
			       msr_rule_name(want.rule));
}

/*
 * The guest reads the revision the architectural way for the vendor (Intel:
 * WRMSR 0 first; the CPUID(1) in between only matters on hardware) and
 * writes a value of its own; host and guest must then still read e->cur.
 */
static unsigned int guest_read(struct ucode_env *e, const char *when)
{
	struct msr_model_filter_state none;
	struct msr_facts f;
	uint64_t host = 0;
	unsigned int bad = 0, i;

	msr_model_filter_state_init(&none);
	msr_catalog_facts(msr_catalog_find(&e->catalog, UCODE), &e->model, &f);

	guest_msr_prog_clear(&e->g);
	if (e->model.vendor == MSR_VENDOR_INTEL)
		guest_msr_prog_add(&e->g, GUEST_WRMSR, UCODE, 0);
	guest_msr_prog_add(&e->g, GUEST_RDMSR, UCODE, 0);
	guest_msr_prog_add(&e->g, GUEST_WRMSR, UCODE, 0x0bad0bad0bad0badull);
	guest_msr_prog_add(&e->g, GUEST_RDMSR, UCODE, 0);
	guest_msr_run(&e->g, NULL, NULL);
	e->has_run = true;

	/* The model walks the program: a stored write changes what follows. */
	for (i = 0; i < e->g.prog->nops; i++) {
		const struct guest_msr_op *op = &e->g.prog->ops[i];
		const struct guest_msr_result *r = &e->g.prog->results[i];
		bool write = guest_msr_op_is_write(op->kind);
		struct msr_outcome want;

		f.rd_value = e->cur;
		want = msr_model_guest_access(&none, 0, &f, write ? MSR_WRMSR : MSR_RDMSR,
					      op->value);
		if (write && want.stored)
			e->cur = want.data;
		bad += !msr_div_expect(&tally, &e->c,
				       r->vector == want.vector && (write || r->value == want.data),
				       "ucode", UCODE, write ? "wrmsr" : "rdmsr", "guest",
				       "%s: guest %s of MSR_IA32_UCODE_REV (op %u): vector %u value %#llx, expected vector %u value %#llx (rule %s)",
				       when, guest_msr_op_kind_str(op->kind), i, r->vector,
				       (unsigned long long)r->value, want.vector,
				       (unsigned long long)want.data, msr_rule_name(want.rule));
	}
	msr_ioctl_one(e->g.vcpu->fd, KVM_GET_MSRS, UCODE, &host);
	bad += !msr_div_expect(&tally, &e->c, host == e->cur, "ucode", UCODE, "wrmsr", "readback",
			       "%s: after the guest's WRMSR, KVM_GET_MSRS reads %#llx, expected %#llx",
			       when, (unsigned long long)host, (unsigned long long)e->cur);
	return bad;
}

TEST(userspace_sets_what_the_guest_sees)
{
	struct ucode_env e;
	unsigned int bad = 0;

	env_init(&e);
	bad += host_set(&e, msr_model_ucode_encode(e.model.vendor, 0x1234), "before KVM_RUN");
	bad += guest_read(&e, "first run");
	bad += host_set(&e, msr_model_ucode_encode(e.model.vendor, 0xabcdef01), "after KVM_RUN");
	bad += guest_read(&e, "after the update");
	guest_msr_vcpu_free(&e.g);
	msr_div_tally_print(&tally, "global.userspace_sets_what_the_guest_sees", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches (vendor %s); rerun: msr_ucode_rev_test -r global.userspace_sets_what_the_guest_sees",
				 bad, e.host.vendor_source);
}

/*
 * Live migration: KVM_GET_MSRS on the source, KVM_SET_MSRS into a brand-new
 * VM before its first KVM_RUN; the guest there reads the same revision.
 */
TEST(migration_keeps_the_revision)
{
	struct ucode_env src, dst;
	uint64_t saved = 0;
	unsigned int bad = 0;

	env_init(&src);
	bad += host_set(&src, msr_model_ucode_encode(src.model.vendor, 0x7777), "source");
	bad += guest_read(&src, "source");
	ASSERT_EQ(1, msr_ioctl_one(src.g.vcpu->fd, KVM_GET_MSRS, UCODE, &saved));
	guest_msr_vcpu_free(&src.g);

	env_init(&dst);
	bad += host_set(&dst, saved, "restore into a new VM");
	bad += guest_read(&dst, "destination");
	bad += !msr_div_expect(&tally, &dst.c, saved == dst.cur, "ucode", UCODE, "set", "migrated",
			       "restored revision: the destination holds %#llx, the source saved %#llx",
			       (unsigned long long)dst.cur, (unsigned long long)saved);
	guest_msr_vcpu_free(&dst.g);
	msr_div_tally_print(&tally, "global.migration_keeps_the_revision", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: msr_ucode_rev_test -r global.migration_keeps_the_revision",
				 bad);
}

/* The "microcode" field of /proc/cpuinfo, or false. */
static bool host_microcode(uint32_t *rev)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "microcode : %x", rev) == 1;
	if (f)
		fclose(f);
	return found;
}

TEST(system_value_is_the_host_revision)
{
	struct msr_vcpu_model model;
	struct msr_host_info host;
	struct msr_ucode_facts u = { 0 };
	struct msr_ucode_verdict want;
	struct guest_msr_vcpu g;
	struct msr_div_case c;
	uint64_t data = 0;
	int kvm_fd, r;
	bool ok;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GET_MSR_FEATURES));
	if (!host_microcode(&u.host_rev))
		SKIP(return, "/proc/cpuinfo has no microcode field");
	guest_msr_vcpu_create(&g);
	msr_host_info_get(&host);
	msr_vcpu_model_from_host(&model, &host, g.vcpu);
	guest_msr_vcpu_free(&g);
	u.vendor = model.vendor;
	want = msr_model_ucode_system_value(&u);

	kvm_fd = open_kvm_dev_path_or_exit();
	r = msr_ioctl_one(kvm_fd, KVM_GET_MSRS, UCODE, &data);
	close(kvm_fd);
	msr_div_case_of(&c, &model);
	ok = msr_div_expect(&tally, &c, r == 1, "ucode", UCODE, "get", "system_count",
			    "system KVM_GET_MSRS of MSR_IA32_UCODE_REV returned %d, expected 1", r) &&
	     msr_div_expect(&tally, &c, want.value == data, "ucode", UCODE, "get", "system_value",
			    "system MSR_IA32_UCODE_REV %#llx, expected %#llx: host microcode %#x placed for %s (rule %s)",
			    (unsigned long long)data, (unsigned long long)want.value, u.host_rev,
			    host.vendor_source, msr_rule_name(want.rule));
	msr_div_tally_print(&tally, "global.system_value_is_the_host_revision", stderr);
	EXPECT_TRUE(ok);
}

SUITE_HARNESS_MAIN
