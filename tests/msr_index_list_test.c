// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_MSR_INDEX_LIST and KVM_GET_MSR_FEATURE_INDEX_LIST (api.rst 4.3):
 * the size protocol (E2BIG with the true count written back), stable and
 * duplicate-free lists, and that what the lists promise holds: every listed
 * MSR can be read and written back through a vCPU's KVM_GET_MSRS /
 * KVM_SET_MSRS, every feature MSR can be read through the system fd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suite_test.h"
#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "msr_probe.h"

/*
 * Every check is counted against the baseline as list.<msr>.<op>.<check>
 * (lib/msr_divergence.h); each subtest ends with its DIVERGENCE-* lines.
 */
static struct msr_div_tally tally;
static struct msr_div_case host_case;

static void tally_print(const char *fixture, const char *variant, const char *test)
{
	char sub[128];

	snprintf(sub, sizeof(sub), "%s.%s%s%s", fixture, variant, *variant ? "." : "", test);
	msr_div_tally_print(&tally, sub, stderr);
}

FIXTURE(msr_list) {
	int kvm_fd;
};

FIXTURE_VARIANT(msr_list) {
	const char *name;	/* the variant's, for the subtest name */
	const char *op;		/* in signatures */
	unsigned long ioctl;
	const char *ioctl_name;
	long cap;		/* capability that announces the ioctl, 0: always */
};

FIXTURE_VARIANT_ADD(msr_list, index) {
	.name = "index",
	.op = "index_list",
	.ioctl = KVM_GET_MSR_INDEX_LIST,
	.ioctl_name = "KVM_GET_MSR_INDEX_LIST",
};

FIXTURE_VARIANT_ADD(msr_list, feature) {
	.name = "feature",
	.op = "feature_list",
	.ioctl = KVM_GET_MSR_FEATURE_INDEX_LIST,
	.ioctl_name = "KVM_GET_MSR_FEATURE_INDEX_LIST",
	.cap = KVM_CAP_GET_MSR_FEATURES,
};

FIXTURE_SETUP(msr_list)
{
	self->kvm_fd = open_kvm_dev_path_or_exit();
	msr_div_case_host(&host_case);
}

FIXTURE_TEARDOWN(msr_list)
{
	close(self->kvm_fd);
}

#define REQUIRE_LIST_IOCTL()						\
do {									\
	if (variant->cap && !kvm_has_cap(variant->cap))			\
		SKIP(return, "%s: capability %ld not supported",	\
		     variant->ioctl_name, variant->cap);		\
} while (0)

/* Slots after the user's @nmsrs, filled with LIST_CANARY: KVM must not write them. */
#define LIST_SLACK	64
#define LIST_CANARY	0xa5a5a5a5u

/*
 * The ioctl with a buffer for @nmsrs indices (and LIST_SLACK canaries
 * after them); returns the ioctl's result.
 */
static int get_list(int kvm_fd, unsigned long cmd, uint32_t nmsrs,
		    struct kvm_msr_list **listp, int *err)
{
	struct kvm_msr_list *list = malloc(sizeof(*list) + (nmsrs + LIST_SLACK) * sizeof(uint32_t));
	uint32_t i;
	int r;

	TEST_ASSERT(list, "out of memory");
	for (i = 0; i < nmsrs + LIST_SLACK; i++)
		list->indices[i] = LIST_CANARY;
	list->nmsrs = nmsrs;
	r = ioctl(kvm_fd, cmd, list);
	*err = r ? errno : 0;
	*listp = list;
	return r;
}

/* The true count, as the E2BIG probe with nmsrs = 0 reports it. */
static uint32_t probe_count(struct __test_metadata *_metadata, int kvm_fd,
			    unsigned long ioctl, const char *name)
{
	struct kvm_msr_list *list;
	uint32_t count;
	int r, err;

	r = get_list(kvm_fd, ioctl, 0, &list, &err);
	count = list->nmsrs;
	free(list);
	ASSERT_EQ(-1, r) TH_LOG("%s with nmsrs = 0 returned %d, expected -1/E2BIG", name, r);
	ASSERT_EQ(E2BIG, err) TH_LOG("%s with nmsrs = 0: errno %d (%s), expected E2BIG",
				     name, err, strerror(err));
	return count;
}

/*
 * Buffer sizes around the true count; what KVM must answer (E2BIG or
 * success, and the count it writes back) comes from the model
 * (msr_model_index_list(), rules LIST_TOO_SMALL / LIST_COPIED).
 */
TEST_F(msr_list, size_protocol)
{
	uint32_t count, i, j, bad = 0;
	char sig[MSR_SIG_LEN];

	REQUIRE_LIST_IOCTL();
	count = probe_count(_metadata, self->kvm_fd, variant->ioctl, variant->ioctl_name);
	ASSERT_GT(count, 0) TH_LOG("%s reports an empty list", variant->ioctl_name);

	const uint32_t sizes[] = { 0, 1, count - 1, count, count + 1, count + 64 };

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct msr_list_verdict want = msr_model_index_list(sizes[i], count);
		struct kvm_msr_list *list;
		int r, err;

		r = get_list(self->kvm_fd, variant->ioctl, sizes[i], &list, &err);
		snprintf(sig, sizeof(sig), "list.none.%s.result", variant->op);
		bad += !msr_div_expect_sig(&tally, &host_case, r == (want.err ? -1 : 0) && err == want.err,
				       sig,
				       "%s nmsrs = %u (true count %u): returned %d, errno %d (%s), expected %d, errno %d (%s), rule %s",
				       variant->ioctl_name, sizes[i], count, r, err, strerror(err),
				       want.err ? -1 : 0, want.err, strerror(want.err),
				       msr_rule_name(want.rule));
		snprintf(sig, sizeof(sig), "list.none.%s.nmsrs", variant->op);
		bad += !msr_div_expect_sig(&tally, &host_case, want.nmsrs == list->nmsrs, sig,
				       "%s nmsrs = %u: wrote back %u, expected %u (rule %s)",
				       variant->ioctl_name, sizes[i], list->nmsrs, want.nmsrs,
				       msr_rule_name(want.rule));
		/* x86.c copies exactly the count it reports, and nothing on E2BIG. */
		for (j = want.indices_written ? want.nmsrs : 0;
		     j < sizes[i] + LIST_SLACK && list->indices[j] == LIST_CANARY; j++)
			;
		snprintf(sig, sizeof(sig), "list.none.%s.written", variant->op);
		bad += !msr_div_expect_sig(&tally, &host_case, j == sizes[i] + LIST_SLACK, sig,
				       "%s nmsrs = %u (true count %u): index %u of the buffer written "
				       "(%#x), past the %u indices KVM may write (rule %s)",
				       variant->ioctl_name, sizes[i], count, j, list->indices[j],
				       want.indices_written ? want.nmsrs : 0, msr_rule_name(want.rule));
		free(list);
	}
	tally_print("msr_list", variant->name, "size_protocol");
	EXPECT_EQ(0, bad);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

TEST_F(msr_list, stable_and_unique)
{
	struct kvm_msr_list *a, *b;
	uint32_t count, i, dups = 0, bad = 0;
	int err;

	REQUIRE_LIST_IOCTL();
	count = probe_count(_metadata, self->kvm_fd, variant->ioctl, variant->ioctl_name);
	ASSERT_EQ(0, get_list(self->kvm_fd, variant->ioctl, count, &a, &err));
	ASSERT_EQ(0, get_list(self->kvm_fd, variant->ioctl, count, &b, &err));
	ASSERT_EQ(a->nmsrs, b->nmsrs);

	for (i = 0; i < count; i++)
		bad += !msr_div_expect(&tally, &host_case, a->indices[i] == b->indices[i], "list",
				       a->indices[i], variant->op, "stable",
				       "%s entry %u: first call %s (%#x), second call %s (%#x)",
				       variant->ioctl_name, i, msr_name(a->indices[i]), a->indices[i],
				       msr_name(b->indices[i]), b->indices[i]);

	qsort(a->indices, count, sizeof(uint32_t), cmp_u32);
	for (i = 1; i < count; i++)
		dups += !msr_div_expect(&tally, &host_case, a->indices[i] != a->indices[i - 1],
					"list", a->indices[i], variant->op, "unique",
					"%s lists %s (%#x) more than once", variant->ioctl_name,
					msr_name(a->indices[i]), a->indices[i]);
	tally_print("msr_list", variant->name, "stable_and_unique");
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, dups) TH_LOG("%u duplicate entries", dups);
	free(a);
	free(b);
}

/* All indices of a list; SKIPs through the caller when it is unsupported. */
static struct kvm_msr_list *full_list(struct __test_metadata *_metadata, int kvm_fd,
				      unsigned long ioctl, const char *name)
{
	struct kvm_msr_list *list;
	int err;

	ASSERT_EQ(0, get_list(kvm_fd, ioctl, probe_count(_metadata, kvm_fd, ioctl, name),
			      &list, &err)) TH_LOG("%s: errno %d", name, err);
	return list;
}

/*
 * KVM_GET_MSR_INDEX_LIST promises MSRs that userspace can save and restore:
 * every one must be readable by KVM_GET_MSRS on a vCPU (returns 1) and take
 * its own value back through KVM_SET_MSRS (returns 1).
 */
TEST(index_list_msrs_save_and_restore)
{
	struct kvm_msr_list *list;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint32_t i, bad = 0;
	int kvm_fd = open_kvm_dev_path_or_exit();

	list = full_list(_metadata, kvm_fd, KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST");
	vm = vm_create_with_one_vcpu(&vcpu, NULL);
	msr_guest_cpuid_set(vcpu, MSR_CPUID_ABSENT);
	msr_div_case_host(&host_case);

	for (i = 0; i < list->nmsrs; i++) {
		uint32_t index = list->indices[i];
		uint64_t data = 0;
		int r = msr_ioctl_one(vcpu->fd, KVM_GET_MSRS, index, &data);

		if (!msr_div_expect(&tally, &host_case, r == 1, "list", index, "get", "restorable",
				    "%s (%#x): vCPU KVM_GET_MSRS returned %d, expected 1",
				    msr_name(index), index, r)) {
			bad++;
			continue;
		}
		r = msr_ioctl_one(vcpu->fd, KVM_SET_MSRS, index, &data);
		bad += !msr_div_expect(&tally, &host_case, r == 1, "list", index, "set", "restorable",
				       "%s (%#x): vCPU KVM_SET_MSRS of its own value %#llx returned %d, expected 1",
				       msr_name(index), index, (unsigned long long)data, r);
	}
	tally_print("global", "", "index_list_msrs_save_and_restore");
	EXPECT_EQ(0, bad) TH_LOG("%u of %u listed MSRs cannot be saved and restored",
				 bad, list->nmsrs);
	kvm_vm_free(vm);
	free(list);
	close(kvm_fd);
}

/* Every feature MSR is readable through the system fd's KVM_GET_MSRS. */
TEST(feature_msrs_readable_on_system_fd)
{
	struct kvm_msr_list *list;
	uint32_t i, bad = 0;
	int kvm_fd = open_kvm_dev_path_or_exit();

	if (!kvm_has_cap(KVM_CAP_GET_MSR_FEATURES))
		SKIP(return, "KVM_CAP_GET_MSR_FEATURES not supported");
	list = full_list(_metadata, kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST,
			 "KVM_GET_MSR_FEATURE_INDEX_LIST");
	msr_div_case_host(&host_case);

	for (i = 0; i < list->nmsrs; i++) {
		uint64_t data = 0;
		int r = msr_ioctl_one(kvm_fd, KVM_GET_MSRS, list->indices[i], &data);

		bad += !msr_div_expect(&tally, &host_case, r == 1, "list", list->indices[i], "get",
				       "system_readable",
				       "%s (%#x): system KVM_GET_MSRS returned %d, expected 1",
				       msr_name(list->indices[i]), list->indices[i], r);
	}
	tally_print("global", "", "feature_msrs_readable_on_system_fd");
	EXPECT_EQ(0, bad) TH_LOG("%u of %u feature MSRs unreadable", bad, list->nmsrs);
	free(list);
	close(kvm_fd);
}

SUITE_HARNESS_MAIN
