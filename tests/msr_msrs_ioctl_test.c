// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_MSRS / KVM_SET_MSRS on a vCPU and on the system fd (api.rst 4.18,
 * 4.19, 4.3): the batch limit, the count of processed entries (stopping at
 * the first failing one), the data KVM leaves in every entry (a failing GET
 * entry must not leak stale data), reserved fields ignored, the system fd
 * reading feature MSRs and refusing KVM_SET_MSRS.  Every expectation comes
 * from msr_model_msrs_io() fed with the catalog (lib/msr_catalog.c) and the
 * facts probed on this vCPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suite_test.h"
#include "msr_catalog.h"
#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "msr_probe.h"

#define GARBAGE 0xa5a5a5a5a5a5a5a5ull
#define MAX_BATCH 300

struct msrs_env {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int kvm_fd;
	struct msr_catalog catalog;
	struct msr_vcpu_model model;
	struct msr_catalog_ctx ctx;
	struct msr_io_facts io;
	struct msr_div_tally tally;	/* every check, against the baseline */
};

static void env_init(struct msrs_env *e)
{
	struct msr_host_info host;

	memset(e, 0, sizeof(*e));
	e->vm = vm_create_with_one_vcpu(&e->vcpu, NULL);
	msr_guest_cpuid_set(e->vcpu, MSR_CPUID_ABSENT);
	e->kvm_fd = open_kvm_dev_path_or_exit();
	msr_catalog_init(&e->catalog);
	msr_probe_catalog(&e->catalog, e->vcpu);
	msr_host_info_get(&host);
	msr_vcpu_model_from_host(&e->model, &host, e->vcpu);
	e->ctx = (struct msr_catalog_ctx){ &e->catalog, &e->model };
	e->io = (struct msr_io_facts){
		.lookup = msr_catalog_host_lookup, .ctx = &e->ctx,
		.ignore_msrs = e->model.ignore_msrs, .kernel = msr_host_kernel() };
}

/* The DIVERGENCE-* lines of subtest global.@test (scripts/run_tests.sh). */
static void env_free(struct msrs_env *e, const char *test)
{
	char sub[96];

	snprintf(sub, sizeof(sub), "global.%s", test);
	msr_div_tally_print(&e->tally, sub, stderr);
	close(e->kvm_fd);
	kvm_vm_free(e->vm);
}

/* One check, msrs.<msr>.<get|set>.<check>, in this vCPU's setting. */
static bool checked(struct msrs_env *e, bool ok, __u32 index, enum msr_io_op op,
		    const char *check, const char *msg)
{
	struct msr_div_case c;

	msr_div_case_of(&c, &e->model);
	return msr_div_expect(&e->tally, &c, ok, "msrs", index,
			      op == MSR_IO_GET ? "get" : "set", check, "%s", msg);
}

/* A kvm_msrs with room for @n entries. */
static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + (n ? n : 1) * sizeof(struct kvm_msr_entry));

	TEST_ASSERT(m, "out of memory");
	return m;
}

/*
 * Run @cmd with @in on @fd and compare the return value and every entry with
 * the model; returns the mismatches (each reported).
 */
static unsigned int check_batch(struct msrs_env *e, int fd, enum msr_scope scope,
				enum msr_io_op op, const struct kvm_msrs *in, uint32_t room,
				const char *what)
{
	unsigned long cmd = op == MSR_IO_GET ? KVM_GET_MSRS : KVM_SET_MSRS;
	struct kvm_msrs *got = msrs_alloc(room), *want = msrs_alloc(room);
	size_t bytes = sizeof(*in) + room * sizeof(struct kvm_msr_entry);
	struct msr_io_result exp;
	unsigned int i, bad = 0;
	int ret;

	memcpy(got, in, bytes);
	memcpy(want, in, bytes);
	exp = msr_model_msrs_io(scope, op, in->nmsrs, want->entries, &e->io);
	char msg[512];
	__u32 at, stop;

	ret = ioctl(fd, cmd, got);
	if (ret < 0)
		ret = -errno;
	/* The count names the entry where KVM or the model stopped. */
	stop = exp.stopped_at >= 0 ? (__u32)exp.stopped_at :
	       ret >= 0 && (__u32)ret < in->nmsrs ? (__u32)ret : 0;
	at = stop < in->nmsrs && stop < room ? in->entries[stop].index : 0;
	snprintf(msg, sizeof(msg), "%s: %s returned %d, expected %d (rule %s, stopped at entry %d)",
		 what, op == MSR_IO_GET ? "KVM_GET_MSRS" : "KVM_SET_MSRS", ret, exp.ret,
		 msr_rule_name(exp.rule), exp.stopped_at);
	bad += !checked(e, ret == exp.ret, at, op, "count", msg);
	for (i = 0; ret >= 0 && exp.ret >= 0 && i < in->nmsrs && i < room; i++) {
		snprintf(msg, sizeof(msg), "%s: entry %u, %s (%#x): data %#llx, expected %#llx (model stopped at %d)",
			 what, i, msr_name(in->entries[i].index), in->entries[i].index,
			 (unsigned long long)got->entries[i].data,
			 (unsigned long long)want->entries[i].data, exp.stopped_at);
		bad += !checked(e, got->entries[i].data == want->entries[i].data,
				in->entries[i].index, op, "data", msg);
	}
	free(got);
	free(want);
	return bad;
}

/* The catalog's vCPU-readable MSRs, then @bad_at replaced by an UNKNOWN one. */
static uint32_t fill_readable(struct msrs_env *e, struct kvm_msrs *m, int bad_at, uint64_t data)
{
	unsigned int i;
	uint32_t n = 0;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &e->catalog.entries[i];

		if (!c->probe.host_readable)
			continue;
		m->entries[n] = (struct kvm_msr_entry){ .index = c->index, .reserved = 0xdead,
			.data = data == GARBAGE ? GARBAGE : c->probe.host_value };
		n++;
	}
	if (bad_at >= 0 && (uint32_t)bad_at < n)
		m->entries[bad_at].index = 0xdeadbeef;
	m->nmsrs = n;
	return n;
}

TEST(batch_limit)
{
	static const uint32_t sizes[] = { 0, 1, 255, 256, 257, 0x7fffffff };
	struct msrs_env e;
	struct kvm_msrs *m = msrs_alloc(MAX_BATCH);
	unsigned int i, j, bad = 0;
	char what[96];

	env_init(&e);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < MAX_BATCH; j++)
			m->entries[j] = (struct kvm_msr_entry){ .index = MSR_MODEL_UCODE_REV };
		m->nmsrs = sizes[i];
		snprintf(what, sizeof(what), "nmsrs %u of MSR_IA32_UCODE_REV on the vCPU", sizes[i]);
		bad += check_batch(&e, e.vcpu->fd, MSR_SCOPE_VCPU, MSR_IO_GET, m,
				   sizes[i] < MAX_BATCH ? MAX_BATCH : 0, what);
		if (kvm_has_cap(KVM_CAP_GET_MSR_FEATURES)) {
			snprintf(what, sizeof(what), "nmsrs %u of MSR_IA32_UCODE_REV on the system fd",
				 sizes[i]);
			bad += check_batch(&e, e.kvm_fd, MSR_SCOPE_SYSTEM, MSR_IO_GET, m,
					   sizes[i] < MAX_BATCH ? MAX_BATCH : 0, what);
		}
	}
	free(m);
	env_free(&e, "batch_limit");
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: msr_msrs_ioctl_test -r global.batch_limit", bad);
}

/*
 * A batch of readable MSRs with an UNKNOWN index first, in the middle, last
 * or nowhere: GET and SET stop there, the failing GET entry reads 0 (not
 * the caller's garbage), later entries keep what the caller put there.
 */
TEST(first_failure_stops_the_batch)
{
	struct msrs_env e;
	struct kvm_msrs *m = msrs_alloc(MAX_BATCH);
	unsigned int bad = 0, op;
	uint32_t n;
	char what[96];
	int p;

	env_init(&e);
	n = fill_readable(&e, m, -1, 0);
	ASSERT_GT(n, 2) TH_LOG("too few readable catalog MSRs (%u)", n);
	const int positions[] = { 0, (int)n / 2, (int)n - 1, -1 };

	for (op = MSR_IO_GET; op <= MSR_IO_SET; op++)
		for (p = 0; p < (int)ARRAY_SIZE(positions); p++) {
			fill_readable(&e, m, positions[p], op == MSR_IO_GET ? GARBAGE : 0);
			snprintf(what, sizeof(what), "%s of %u catalog MSRs, unknown index at %d",
				 op == MSR_IO_GET ? "GET (prefilled with garbage)" : "SET (current values)",
				 n, positions[p]);
			bad += check_batch(&e, e.vcpu->fd, MSR_SCOPE_VCPU, op, m, MAX_BATCH, what);
		}
	free(m);
	env_free(&e, "first_failure_stops_the_batch");
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: msr_msrs_ioctl_test -r global.first_failure_stops_the_batch",
				 bad);
}

/* The system fd: catalog MSRs one by one, then KVM_SET_MSRS. */
TEST(system_fd)
{
	struct msrs_env e;
	struct kvm_msrs *m = msrs_alloc(1);
	unsigned int i, bad = 0;
	char what[96];

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GET_MSR_FEATURES));
	env_init(&e);
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		m->nmsrs = 1;
		m->entries[0] = (struct kvm_msr_entry){ .index = e.catalog.entries[i].index,
							.data = GARBAGE };
		snprintf(what, sizeof(what), "system fd GET of %s", e.catalog.entries[i].name);
		bad += check_batch(&e, e.kvm_fd, MSR_SCOPE_SYSTEM, MSR_IO_GET, m, 1, what);
	}
	m->nmsrs = 1;
	m->entries[0] = (struct kvm_msr_entry){ .index = MSR_MODEL_UCODE_REV };
	bad += check_batch(&e, e.kvm_fd, MSR_SCOPE_SYSTEM, MSR_IO_SET, m, 1,
			   "system fd KVM_SET_MSRS of MSR_IA32_UCODE_REV");
	free(m);
	env_free(&e, "system_fd");
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: msr_msrs_ioctl_test -r global.system_fd", bad);
}

/*
 * Entries KVM cannot read fault the whole call (memdup_user() in msr_io(),
 * the generic ioctl contract): the kvm_msrs header is the last 8 bytes of a
 * page whose successor is PROT_NONE.  Not unmapped: a hole would not stay
 * empty, vmx.c:vmx_vcpu_create() maps the APIC access page into this
 * process (kvm_alloc_apic_access_page() -> __x86_set_memory_region() ->
 * vm_mmap()) and it can land right there.
 */
TEST(entries_not_readable)
{
	size_t page = getpagesize();
	uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_msrs *m = (struct kvm_msrs *)(map + page - sizeof(struct kvm_msrs));
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int r;

	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	vm = vm_create_with_one_vcpu(&vcpu, NULL);
	m->nmsrs = 1;
	r = ioctl(vcpu->fd, KVM_GET_MSRS, m);
	EXPECT_EQ(-1, r) TH_LOG("KVM_GET_MSRS with unreadable entries returned %d, expected -1/EFAULT", r);
	EXPECT_EQ(EFAULT, errno) TH_LOG("errno %d (%s), expected EFAULT", errno, strerror(errno));
	r = ioctl(vcpu->fd, KVM_SET_MSRS, m);
	EXPECT_EQ(-1, r) TH_LOG("KVM_SET_MSRS with unreadable entries returned %d, expected -1/EFAULT", r);
	EXPECT_EQ(EFAULT, errno) TH_LOG("errno %d (%s), expected EFAULT", errno, strerror(errno));
	kvm_vm_free(vm);
	munmap(map, 2 * page);
}

SUITE_HARNESS_MAIN
