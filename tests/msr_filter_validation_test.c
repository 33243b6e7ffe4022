// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_X86_SET_MSR_FILTER validation and atomic replacement (api.rst 4.97):
 * every top-level and range flag bit alone, range sizes around the bitmap
 * limit, bitmaps that end right before an unmapped page (KVM reads whole
 * longs), NULL and unmapped bitmaps, DEFAULT_DENY without ranges, 16 ranges.
 * Each call's result is compared with msr_model_filter_install(); after
 * every call, accepted or rejected, the guest proves which filter is in
 * force (lib/msr_filter_probe.c): a rejected call must leave the previous
 * filter in place, whatever it returned.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "suite_test.h"
#include "msr_filter_probe.h"
#include "msr_names.h"
#include "msr_probe.h"

#define R KVM_MSR_FILTER_READ
#define W KVM_MSR_FILTER_WRITE

/* Where a case's range-0 bitmap sits. */
enum bitmap_place {
	BITMAP_BUFFER,		/* a large readable buffer */
	BITMAP_PAGE_END,	/* last @tail bytes of a page, unmapped page after */
	BITMAP_NULL,
	BITMAP_UNMAPPED,	/* inside the unmapped page */
};

struct validation_case {
	char name[64];
	uint32_t flags;
	uint32_t range_flags;
	uint32_t nmsrs;
	enum bitmap_place place;
	unsigned int tail;
	unsigned int extra_ranges;	/* further valid ranges after range 0 */
};

struct validation_env {
	uint8_t *buffer;	/* readable, 2 * max bitmap */
	uint8_t *page;		/* readable page followed by a PROT_NONE one */
	size_t page_size;
	uint8_t extra[KVM_MSR_FILTER_MAX_RANGES][8];
};

static void env_init(struct validation_env *env)
{
	env->page_size = getpagesize();
	env->buffer = calloc(2, KVM_MSR_FILTER_MAX_BITMAP_SIZE);
	env->page = mmap(NULL, 2 * env->page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(env->buffer && env->page != MAP_FAILED, "out of memory");
	/*
	 * PROT_NONE, not unmapped: on VMX vmx_vcpu_create() vm_mmap()s the
	 * APIC access page into this process, and it can fill a one-page hole.
	 */
	TEST_ASSERT(!mprotect(env->page + env->page_size, env->page_size, PROT_NONE),
		    "mprotect failed");
	memset(env->page, 0xff, env->page_size);
	memset(env->extra, 0x00, sizeof(env->extra));
}

static uint8_t *bitmap_of(const struct validation_env *env, const struct validation_case *c)
{
	switch (c->place) {
	case BITMAP_BUFFER:
		return env->buffer;
	case BITMAP_PAGE_END:
		return env->page + env->page_size - c->tail;
	case BITMAP_UNMAPPED:
		return env->page + env->page_size;
	default:
		return NULL;
	}
}

/*
 * The filter of case @c and the model's memory facts: the buffer, the
 * mapped page and the extra bitmaps are readable, nothing else.
 */
static void build(const struct validation_env *env, const struct validation_case *c,
		  struct kvm_msr_filter *f, struct msr_model_mem_region regions[3],
		  struct msr_model_mem *mem)
{
	unsigned int i;

	memset(f, 0, sizeof(*f));
	f->flags = c->flags;
	f->ranges[0] = (struct kvm_msr_filter_range){
		.flags = c->range_flags, .base = 0, .nmsrs = c->nmsrs,
		.bitmap = bitmap_of(env, c) };
	/* Extra ranges deny writes of 0x900 + i: disjoint from range 0 */
	for (i = 0; i < c->extra_ranges; i++)
		f->ranges[1 + i] = (struct kvm_msr_filter_range){
			.flags = W, .base = 0x900 + i, .nmsrs = 1,
			.bitmap = (uint8_t *)env->extra[i] };

	regions[0] = (struct msr_model_mem_region){ (uintptr_t)env->buffer,
		2 * KVM_MSR_FILTER_MAX_BITMAP_SIZE, env->buffer };
	regions[1] = (struct msr_model_mem_region){ (uintptr_t)env->page, env->page_size, env->page };
	regions[2] = (struct msr_model_mem_region){ (uintptr_t)env->extra, sizeof(env->extra),
		&env->extra[0][0] };
	*mem = (struct msr_model_mem){ regions, 3 };
}

/* The case table: built, not typed, so that every bit and size is covered. */
static unsigned int make_cases(struct validation_case *cases)
{
	static const uint32_t sizes[] = { 1, 64, 65, 0x3000, 0x3001 };
	static const unsigned int tails[] = { 1, 7, 8, 9, 16 };
	static const uint32_t tail_sizes[] = { 1, 64, 65, 128 };
	unsigned int n = 0, i, j;

	for (i = 0; i < 32; i++) {
		cases[n] = (struct validation_case){ .flags = 1u << i, .range_flags = R,
						     .nmsrs = 0x800 };
		snprintf(cases[n++].name, 64, "filter flags bit %u", i);
		cases[n] = (struct validation_case){ .range_flags = 1u << i, .nmsrs = 0x800 };
		snprintf(cases[n++].name, 64, "range flags bit %u", i);
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		cases[n] = (struct validation_case){ .range_flags = R | W, .nmsrs = sizes[i] };
		snprintf(cases[n++].name, 64, "nmsrs %#x", sizes[i]);
	}
	for (i = 0; i < ARRAY_SIZE(tails); i++)
		for (j = 0; j < ARRAY_SIZE(tail_sizes); j++) {
			cases[n] = (struct validation_case){ .range_flags = R, .nmsrs = tail_sizes[j],
				.place = BITMAP_PAGE_END, .tail = tails[i] };
			snprintf(cases[n++].name, 64, "nmsrs %u, bitmap %u bytes before unmapped page",
				 tail_sizes[j], tails[i]);
		}
	cases[n] = (struct validation_case){ .range_flags = 0xdeadbeef, .nmsrs = 0,
		.place = BITMAP_NULL, .extra_ranges = 1 };
	snprintf(cases[n++].name, 64, "empty range with garbage flags and NULL bitmap");
	cases[n] = (struct validation_case){ .range_flags = R, .nmsrs = 1, .place = BITMAP_NULL };
	snprintf(cases[n++].name, 64, "NULL bitmap");
	cases[n] = (struct validation_case){ .range_flags = R, .nmsrs = 1, .place = BITMAP_UNMAPPED };
	snprintf(cases[n++].name, 64, "unmapped bitmap");
	cases[n] = (struct validation_case){ .flags = KVM_MSR_FILTER_DEFAULT_DENY, .nmsrs = 0,
		.range_flags = R };
	snprintf(cases[n++].name, 64, "DEFAULT_DENY with every range empty");
	cases[n] = (struct validation_case){ .nmsrs = 0, .range_flags = R };
	snprintf(cases[n++].name, 64, "DEFAULT_ALLOW with every range empty");
	cases[n] = (struct validation_case){ .range_flags = R, .nmsrs = 0x800,
		.extra_ranges = KVM_MSR_FILTER_MAX_RANGES - 1 };
	snprintf(cases[n++].name, 64, "16 non-empty ranges");
	return n;
}

/* A known filter to fall back to between cases: deny writes of 0..0x7ff. */
static void install_baseline(struct guest_msr_vcpu *g, struct msr_model_filter_state *state)
{
	static uint8_t bitmaps[MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_mem_region regions[MSR_SPEC_MAX_RANGES];
	struct msr_model_mem mem;
	struct kvm_msr_filter f;

	msr_filter_spec_build(&msr_compat_filter_specs[1], &f, bitmaps);
	msr_filter_spec_mem(bitmaps, regions, &mem);
	TEST_ASSERT_EQ(0, msr_model_filter_install(state, &f, &mem).err);
	vm_ioctl(g->vm, KVM_X86_SET_MSR_FILTER, &f);
}

TEST(set_msr_filter_validation)
{
	static struct validation_case cases[128];
	struct msr_model_filter_state state;
	struct validation_env env;
	struct guest_msr_vcpu g;
	unsigned int n, i, bad = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	env_init(&env);
	n = make_cases(cases);
	msr_filter_probe_vcpu_create(&g);
	msr_model_filter_state_init(&state);
	install_baseline(&g, &state);

	for (i = 0; i < n; i++) {
		const struct validation_case *c = &cases[i];
		struct msr_model_mem_region regions[3];
		struct msr_model_mem mem;
		struct msr_verdict want;
		struct kvm_msr_filter f;

		build(&env, c, &f, regions, &mem);
		bad += msr_filter_install_and_probe(&g, &state, &f, &mem, c->name, &want);
		if (!want.err)
			install_baseline(&g, &state);
	}
	guest_msr_vcpu_free(&g);
	msr_div_tally_print(&msr_filter_probe_tally, "global.set_msr_filter_validation", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches in %u calls; rerun: msr_filter_validation_test -r global.set_msr_filter_validation",
				 bad, n);
}

/*
 * Lookup semantics (first match per access type, exclusive range end, u32
 * wrap-around, ranges across the x2APIC range, default action, bitmap bit
 * order), each filter installed on its own and proved by the guest.
 */
TEST(set_msr_filter_semantics)
{
	static uint8_t bitmaps[MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_mem_region regions[MSR_SPEC_MAX_RANGES];
	struct msr_model_filter_state state;
	struct guest_msr_vcpu g;
	struct msr_model_mem mem;
	unsigned int i, bad = 0;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	msr_filter_probe_vcpu_create(&g);
	msr_model_filter_state_init(&state);
	msr_filter_spec_mem(bitmaps, regions, &mem);

	for (i = 0; i < MSR_SEMANTIC_FILTER_SPECS; i++) {
		const struct msr_filter_spec *s = &msr_semantic_filter_specs[i];
		struct kvm_msr_filter f;
		struct msr_verdict want;

		msr_filter_spec_build(s, &f, bitmaps);
		bad += msr_filter_install_and_probe(&g, &state, &f, &mem, s->name, &want);
	}
	guest_msr_vcpu_free(&g);
	msr_div_tally_print(&msr_filter_probe_tally, "global.set_msr_filter_semantics", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u mismatches; rerun: msr_filter_validation_test -r global.set_msr_filter_semantics",
				 bad);
}

/*
 * Host-initiated KVM_GET_MSRS / KVM_SET_MSRS are never filtered (api.rst
 * 4.97): with a filter that denies everything, EFER still reads and takes
 * its own value back from userspace.
 */
TEST(host_accesses_ignore_the_filter)
{
	static uint8_t bitmap[8];
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_DENY,
		.ranges = { { .flags = KVM_MSR_FILTER_READ, .base = 0x10000, .nmsrs = 1,
			      .bitmap = bitmap } },
	};
	struct msr_model_filter_state state;
	struct msr_model_mem_region region = { (uintptr_t)bitmap, sizeof(bitmap), bitmap };
	struct msr_model_mem mem = { &region, 1 };
	struct guest_msr_vcpu g;
	uint32_t type;

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));
	msr_filter_probe_vcpu_create(&g);
	msr_model_filter_state_init(&state);
	ASSERT_EQ(0, msr_model_filter_install(&state, &f, &mem).err);
	vm_ioctl(g.vm, KVM_X86_SET_MSR_FILTER, &f);

	for (type = KVM_MSR_FILTER_READ; type <= KVM_MSR_FILTER_WRITE; type <<= 1) {
		struct msr_filter_verdict v = msr_model_filter_check(&state, MSR_ORIGIN_HOST,
								       0xc0000080, type);
		uint64_t data = 0;
		int r;

		ASSERT_TRUE(v.allowed) TH_LOG("model: host access filtered (rule %s)",
					      msr_rule_name(v.rule));
		r = msr_ioctl_one(g.vcpu->fd, KVM_GET_MSRS, 0xc0000080, &data);
		EXPECT_EQ(1, r) TH_LOG("KVM_GET_MSRS of MSR_EFER under a deny-all filter returned %d, expected 1 (rule %s)",
				       r, msr_rule_name(v.rule));
		if (type == KVM_MSR_FILTER_WRITE) {
			r = msr_ioctl_one(g.vcpu->fd, KVM_SET_MSRS, 0xc0000080, &data);
			EXPECT_EQ(1, r) TH_LOG("KVM_SET_MSRS of MSR_EFER (%#llx) under a deny-all filter returned %d, expected 1 (rule %s)",
					       (unsigned long long)data, r, msr_rule_name(v.rule));
		}
	}
	guest_msr_vcpu_free(&g);
}

SUITE_HARNESS_MAIN
