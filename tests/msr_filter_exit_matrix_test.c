// SPDX-License-Identifier: GPL-2.0
/*
 * The filter x exit-reason conformance matrix (lib/msr_matrix.h): guest
 * RDMSR/WRMSR of catalog MSRs under every filter state, filter layout, exit
 * mask, value, userspace answer and path, each observable compared with the
 * reference model.  One result per group:
 *
 *   msr_matrix.<filter state>.<class>
 *	filter state: never_set, allow_empty, allow_ranges, deny_ranges;
 *	class: what the model says decides the access (valid, unknown,
 *	reserved_bits, pat_type, non_canonical, refused; x2apic: the x2APIC
 *	MSRs, APIC in xAPIC then in x2APIC mode), every exit mask and layout
 *	inside; forced_emulation runs every class through the forced
 *	emulation prefix.
 *   msr_matrix.<filter state>.side_effect (and side_effect_forced_emulation)
 *	RDTSCP, RDPID, RDTSC, SYSCALL, SYSENTER and SWAPGS under filters that
 *	deny the MSRs they read, every exit mask: no exit, no #GP, the values
 *	(api.rst 4.97); RDMSR/WRMSR of the same MSRs in the same programs
 *	still filtered.
 *   msr_matrix_dynamic.<test>
 *	the filter or the exit mask changed between programs and between two
 *	instructions of one program.
 *
 * A failing group lists its failing cases (setting, expected with the
 * model's rule, actual) and the command that reruns just that group.
 */
#include "suite_test.h"
#include "msr_matrix.h"

#define INVAL	KVM_MSR_EXIT_REASON_INVAL
#define UNKNOWN	KVM_MSR_EXIT_REASON_UNKNOWN
#define FILTER	KVM_MSR_EXIT_REASON_FILTER

FIXTURE(msr_matrix) {
};

FIXTURE_VARIANT(msr_matrix) {
	const char *name;
	enum mx_filter_state state;
};

/* .name repeats the variant's name for the group's rerun command. */
#define MATRIX_STATE(name_, state_)					\
	FIXTURE_VARIANT_ADD(msr_matrix, name_) {			\
		.name = #name_, .state = state_,			\
	}

MATRIX_STATE(never_set, MX_NEVER_SET);
MATRIX_STATE(allow_empty, MX_ALLOW_EMPTY);
MATRIX_STATE(allow_ranges, MX_ALLOW_RANGES);
MATRIX_STATE(deny_ranges, MX_DENY_RANGES);

/* The group creates its VMs (mx_run_group()), so that a SKIP costs none. */
FIXTURE_SETUP(msr_matrix)
{
}

FIXTURE_TEARDOWN(msr_matrix)
{
}

static void run_group(struct __test_metadata *_metadata,
		      const FIXTURE_VARIANT(msr_matrix) *variant, const char *test,
		      unsigned int classes, enum msr_path path)
{
	struct mx_result res = { 0 };
	struct mx_group grp;
	char name[128];
	uint64_t failures;

	snprintf(name, sizeof(name), "msr_matrix.%s.%s", variant->name, test);
	grp = (struct mx_group){ variant->state, classes, path, name, !classes };
	failures = mx_run_group(&grp, MX_WORKERS, &res);
	EXPECT_EQ(0, failures)
		TH_LOG("%s: %llu failures in %llu cases (listed above)", name,
		       (unsigned long long)failures, (unsigned long long)res.st.cases);
}

#define MATRIX_CLASS(test, classes)					\
	TEST_F(msr_matrix, test)					\
	{								\
		run_group(_metadata, variant, #test, classes,		\
			  MSR_PATH_NATIVE);				\
	}

MATRIX_CLASS(valid, MX_CLASS_BIT(MX_CLASS_VALID))
MATRIX_CLASS(unknown, MX_CLASS_BIT(MX_CLASS_UNKNOWN))
MATRIX_CLASS(reserved_bits, MX_CLASS_BIT(MX_CLASS_RESERVED_BITS))
MATRIX_CLASS(pat_type, MX_CLASS_BIT(MX_CLASS_PAT_TYPE))
MATRIX_CLASS(non_canonical, MX_CLASS_BIT(MX_CLASS_NON_CANONICAL))
MATRIX_CLASS(refused, MX_CLASS_BIT(MX_CLASS_REFUSED))
MATRIX_CLASS(x2apic, MX_X2APIC_CLASSES)

TEST_F(msr_matrix, forced_emulation)
{
	if (!suite_forced_emulation_enabled())
		SKIP(return, "kvm.force_emulation_prefix is off (read-only module parameter; "
		     "boot with kvm.force_emulation_prefix=1 to run the forced emulation path)");
	run_group(_metadata, variant, "forced_emulation", MX_ALL_CLASSES,
		  MSR_PATH_FORCED_EMULATION);
}

/*
 * Side-effect instructions (lib/msr_model.h rule 10), with no classes:
 * the group runs in the guest CPUID state present only.
 */
TEST_F(msr_matrix, side_effect)
{
	run_group(_metadata, variant, "side_effect", 0, MSR_PATH_NATIVE);
}

TEST_F(msr_matrix, side_effect_forced_emulation)
{
	if (!suite_forced_emulation_enabled())
		SKIP(return, "kvm.force_emulation_prefix is off (read-only module parameter; "
		     "boot with kvm.force_emulation_prefix=1 to run the forced emulation path)");
	run_group(_metadata, variant, "side_effect_forced_emulation", 0,
		  MSR_PATH_FORCED_EMULATION);
}

/*
 * L2 under the suite's L1 (guest_code/msr_l1.h): every class, L1's map
 * intercepting each (MSR, access) under some exit masks and passing it
 * through under the others (mx_set_l1_policy()).
 */
TEST_F(msr_matrix, l2)
{
	const char *why;

	if (!guest_msr_l1_supported(&why))
		SKIP(return, "%s", why);
	run_group(_metadata, variant, "l2", MX_ALL_CLASSES, MSR_PATH_L2);
}

/*
 * The layouts meant to use every range slot do: each of the 16 is the first
 * match of some catalog MSR (the model decides, with DEFAULT_ALLOW and
 * DEFAULT_DENY), so first match is checked in slot k for k = 0..15.
 */
TEST(msr_matrix_layouts_every_slot_decides)
{
	static const char *const names[] = { "slots16_even_allow", "slots16_odd_allow" };
	unsigned int i, d;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		for (d = 0; d < 2; d++) {
			const struct msr_filter_spec *l = mx_layout_by_name(names[i]);
			unsigned int slots;

			ASSERT_TRUE(l != NULL) TH_LOG("no layout %s", names[i]);
			slots = mx_layout_deciding_slots(l, d ? KVM_MSR_FILTER_DEFAULT_DENY :
								KVM_MSR_FILTER_DEFAULT_ALLOW);
			EXPECT_EQ(0xffffu, slots)
				TH_LOG("%s: slots %#x decide a catalog MSR, want all 16 (%#x missing)",
				       names[i], slots, ~slots & 0xffffu);
		}
}

/*
 * Dynamic cases: the filter and the exit mask change while the VM lives,
 * between programs and between two instructions of one program (at an MSR
 * exit, before KVM_RUN resumes the guest).  The model follows every change
 * as x86.c does: the filter is looked up and the mask read at each access.
 */
FIXTURE(msr_matrix_dynamic) {
	struct msr_vm vm;
	struct mx_result res;
	struct mx_session *s;
	char name[128];
};

FIXTURE_SETUP(msr_matrix_dynamic)
{
	msr_vm_create(&self->vm, MSR_CPUID_ABSENT, 0);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(msr_matrix_dynamic)
{
	msr_vm_free(&self->vm);
}

static void dynamic_begin(FIXTURE_DATA(msr_matrix_dynamic) *self, const char *test)
{
	snprintf(self->name, sizeof(self->name), "msr_matrix_dynamic.%s", test);
	self->s = mx_session_new(&self->vm, self->name, &self->res);
	mx_session_set_state(self->s, MX_ALLOW_RANGES);
}

static void dynamic_end(struct __test_metadata *_metadata, struct mx_session *s,
			struct mx_result *res, const char *name)
{
	uint64_t failures = mx_session_end(s);

	mx_print_failure_summary(res, name);
	mx_print_cpuid_cases(res, name);
	msr_div_tally_print(&res->tally, name, stderr);
	fprintf(stderr, "# %s: %llu cases, %llu exits, %llu filter installs: %llu failures\n",
		name, (unsigned long long)res->st.cases,
		(unsigned long long)res->st.exits, (unsigned long long)res->st.installs,
		(unsigned long long)failures);
	EXPECT_EQ(0, failures)
		TH_LOG("%s: %llu failures (each listed above)", name,
		       (unsigned long long)failures);
}

/* MSRs each probe touches: filterable known and unknown ones, an x2APIC one. */
static const __u32 probe_msrs[] = {
	MSR_CAT_STAR, MSR_CAT_EFER, MSR_CAT_CR_PAT, MSR_CAT_PLATFORM_INFO,
	0x00000003u, 0x000007ffu, 0xdeadbeefu, MSR_CAT_X2APIC_TPR,
};

/* RDMSR and a valid WRMSR of every probe MSR. */
static void probe(struct mx_session *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(probe_msrs); i++) {
		mx_add_access(s, probe_msrs[i], MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
		mx_add_access(s, probe_msrs[i], MSR_WRMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	}
}

/* Ranges the ioctl must refuse (the model says which rule). */
static const struct msr_filter_spec flags_zero = {
	"flags_zero", 0, 1, { { 0, 0x0, 0x10, 0xff } },
};

/*
 * KVM_X86_SET_MSR_FILTER replaces the whole filter (api.rst 4.97: vCPUs see
 * the old or the new one); a refused filter leaves the old one in place;
 * the replacement also lands between two instructions of a program.
 */
TEST_F(msr_matrix_dynamic, filter_replaced)
{
	static const struct {
		__u32 flags;
		const char *layout;	/* NULL: no ranges */
	} filters[] = {
		{ KVM_MSR_FILTER_DEFAULT_ALLOW, "rw_odd" },
		{ KVM_MSR_FILTER_DEFAULT_ALLOW, "rw_even" },
		{ KVM_MSR_FILTER_DEFAULT_DENY, "uncovered" },
		{ KVM_MSR_FILTER_DEFAULT_ALLOW, NULL },
		{ KVM_MSR_FILTER_DEFAULT_DENY, "overlap_read_deny_first" },
		{ KVM_MSR_FILTER_DEFAULT_DENY, NULL },	/* EINVAL: the old one stays */
		{ KVM_MSR_FILTER_DEFAULT_ALLOW, "flags_zero" },	/* EINVAL as well */
		{ KVM_MSR_FILTER_DEFAULT_ALLOW, "overlap_deny_first" },
	};
	__u64 mask;
	unsigned int i;

	dynamic_begin(self, "filter_replaced");
	for (mask = 0; mask < MX_MASKS; mask += FILTER) {
		mx_set_mask(self->s, mask | INVAL | UNKNOWN);
		for (i = 0; i < ARRAY_SIZE(filters); i++) {
			const struct msr_filter_spec *l = !filters[i].layout ? NULL :
				!strcmp(filters[i].layout, "flags_zero") ? &flags_zero :
				mx_layout_by_name(filters[i].layout);

			mx_set_filter(self->s, filters[i].flags, l);
			probe(self->s);
		}
	}

	/* Mid-program: the denied RDMSR of 0x7ff exits, the filter changes there. */
	mx_set_mask(self->s, FILTER);
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, mx_layout_by_name("rw_even"));
	probe(self->s);
	mx_add_access(self->s, 0x7ff, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_set_filter_at_exit(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, mx_layout_by_name("rw_odd"));
	probe(self->s);
	mx_add_access(self->s, 0x800u, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_add_access(self->s, MSR_CAT_EFER, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_set_filter_at_exit(self->s, KVM_MSR_FILTER_DEFAULT_DENY,
			      mx_layout_by_name("overlap_deny_first"));
	probe(self->s);
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) replaces the mask at any time
 * (x86.c reads it at each access); an invalid mask is refused and the old
 * one stays; the change also lands between two instructions of a program.
 */
TEST_F(msr_matrix_dynamic, mask_changed)
{
	static const __u64 gray[] = { 0, 1, 3, 2, 6, 7, 5, 4, 8 /* EINVAL */, 0 };
	unsigned int i;

	dynamic_begin(self, "mask_changed");
	mx_session_set_state(self->s, MX_DENY_RANGES);
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_DENY, mx_layout_by_name("rw_odd"));
	for (i = 0; i < ARRAY_SIZE(gray); i++) {
		mx_set_mask(self->s, gray[i]);
		probe(self->s);
	}

	/* UNKNOWN exit of 0x3 (allowed: odd), then filtered 0xc0000080 exits too. */
	mx_set_mask(self->s, UNKNOWN);
	probe(self->s);
	mx_add_access(self->s, 0x3, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_set_mask_at_exit(self->s, UNKNOWN | FILTER);
	probe(self->s);
	/* The filtered EFER read exits; from there on nothing exits. */
	mx_add_access(self->s, MSR_CAT_EFER, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_set_mask_at_exit(self->s, 0);
	probe(self->s);
	/* An x2APIC access in xAPIC mode exits with INVAL; then the mask is invalid. */
	mx_set_mask(self->s, INVAL);
	mx_add_access(self->s, MSR_CAT_X2APIC_TPR, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_NATIVE);
	mx_set_mask_at_exit(self->s, 1ull << 32);
	probe(self->s);
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

/*
 * api.rst 4.97: "if userspace wishes to intercept on denied accesses,
 * KVM_MSR_EXIT_REASON_FILTER must be enabled before activating any filters
 * ... Failure to do so may result in KVM injecting a #GP instead of exiting
 * to userspace."  The ABI thus promises nothing for a mask enabled after
 * the filter; x86.c (kvm_msr_user_space()) reads the mask at every access,
 * and the model follows it: denied accesses #GP before, exit after.  A #GP
 * after the change would be allowed by api.rst but differ from x86.c.
 */
TEST_F(msr_matrix_dynamic, mask_enabled_after_filter)
{
	dynamic_begin(self, "mask_enabled_after_filter");
	mx_session_set_state(self->s, MX_DENY_RANGES);
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_DENY, mx_layout_by_name("rw_even"));
	probe(self->s);
	mx_set_mask(self->s, FILTER);
	probe(self->s);
	mx_set_mask(self->s, FILTER | INVAL | UNKNOWN);
	probe(self->s);
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

/*
 * api.rst 4.97: KVM_MSR_EXIT_REASON_FILTER must be "left enabled until
 * after all filters are deactivated", else KVM may inject #GP.  Here it is
 * disabled while the filter is active: the model (x86.c) says denied
 * accesses then #GP; other reasons still exit if enabled.  Then the filter
 * goes (empty DEFAULT_ALLOW): nothing is denied any more.
 */
TEST_F(msr_matrix_dynamic, mask_disabled_with_filter)
{
	dynamic_begin(self, "mask_disabled_with_filter");
	mx_set_mask(self->s, FILTER | INVAL | UNKNOWN);
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, mx_layout_by_name("rw_odd"));
	probe(self->s);
	mx_set_mask(self->s, INVAL | UNKNOWN);
	probe(self->s);
	mx_set_mask(self->s, 0);
	probe(self->s);
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL);
	probe(self->s);
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

/*
 * L2 with the filter changed while the VM lives (the L2 path, L1 passing
 * every access through unless said otherwise).  KVM_X86_SET_MSR_FILTER
 * raises KVM_REQ_MSR_FILTER_CHANGED: svm_msr_filter_changed() recomputes
 * L1's own msrpm, and nested_svm_vmrun_msrpm() merges it into L2's at the
 * next nested VMRUN.  api.rst 4.97: a vCPU sees the old or the new filter,
 * and once the ioctl returned, the new one; the model applies it from the
 * next access on, in L2 as in L1.
 */
FIXTURE(msr_matrix_l2_dynamic) {
	struct msr_vm vm;
	struct mx_result res;
	struct mx_session *s;
	char name[128];
};

FIXTURE_SETUP(msr_matrix_l2_dynamic)
{
	const char *why;

	memset(&self->vm, 0, sizeof(self->vm));
	if (!guest_msr_l1_supported(&why))
		SKIP(return, "%s", why);
	msr_vm_create_l2(&self->vm, 0);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(msr_matrix_l2_dynamic)
{
	if (self->vm.g.vm)
		msr_vm_free(&self->vm);
}

/* What L0 passes through to L1 (SVM: STAR..SFMASK, KERNEL_GS_BASE), and EFER. */
static const struct msr_filter_spec deny_l0_passthrough = {
	"deny_l0_passthrough", 0, 2, {
		{ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 0xc0000080, 5, 0x00 },
		{ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 0xc0000102, 1, 0x00 } },
};

/* Only EFER reads: one FILTER exit to change the filter at. */
static const struct msr_filter_spec deny_efer_read = {
	"deny_efer_read", 0, 1, { { KVM_MSR_FILTER_READ, 0xc0000080, 1, 0x00 } },
};

static const __u32 l2_probe_msrs[] = {
	MSR_CAT_STAR, MSR_CAT_LSTAR, MSR_CAT_KERNEL_GS_BASE, MSR_CAT_EFER, MSR_CAT_TSC_AUX,
};

static void l2_probe(struct mx_session *s)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(l2_probe_msrs); i++) {
		mx_add_access(s, l2_probe_msrs[i], MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_L2);
		mx_add_access(s, l2_probe_msrs[i], MSR_WRMSR, MSR_VALUE_VALID, MSR_PATH_L2);
	}
}

static void l2_dynamic_begin(FIXTURE_DATA(msr_matrix_l2_dynamic) *self, const char *test)
{
	snprintf(self->name, sizeof(self->name), "msr_matrix_l2_dynamic.%s", test);
	self->s = mx_session_new(&self->vm, self->name, &self->res);
	mx_session_set_state(self->s, MX_ALLOW_RANGES);
	mx_set_l1_policy(self->s, MX_L1_PASS);
	mx_set_mask(self->s, FILTER | INVAL | UNKNOWN);
}

/*
 * Between L2 runs: each program ends in L1 (at its done-port OUT), the
 * filter changes there, and L1 re-enters L2 with VMRUN for the next one.
 */
TEST_F(msr_matrix_l2_dynamic, filter_changed_in_l1)
{
	unsigned int i;

	l2_dynamic_begin(self, "filter_changed_in_l1");
	for (i = 0; i < 2; i++) {
		mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, NULL);
		l2_probe(self->s);
		mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_l0_passthrough);
		l2_probe(self->s);
		/* L1 intercepting: L1's, whatever the filter says. */
		mx_set_l1_policy(self->s, MX_L1_INTERCEPT);
		l2_probe(self->s);
		mx_set_l1_policy(self->s, MX_L1_PASS);
	}
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

/*
 * In L2: at a userspace exit of L2 (a denied EFER read), the filter
 * changes to deny what L0 passes through; L2 resumes without a nested
 * VM-entry.  The model: the new filter applies from the next access on.
 * Then the same from a fresh program (a nested VMRUN), and back.  The
 * signatures' source is l2_filter_change (the same accesses in a fresh
 * program are the groups' matrix.*).
 */
TEST_F(msr_matrix_l2_dynamic, filter_changed_in_l2)
{
	l2_dynamic_begin(self, "filter_changed_in_l2");
	mx_session_set_source(self->s, "l2_filter_change");
	mx_set_filter(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_efer_read);
	l2_probe(self->s);
	mx_add_access(self->s, MSR_CAT_EFER, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_L2);
	mx_set_filter_at_exit(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_l0_passthrough);
	l2_probe(self->s);
	mx_flush(self->s);
	l2_probe(self->s);
	/* And back: allowed again from the exit on. */
	mx_add_access(self->s, MSR_CAT_EFER, MSR_RDMSR, MSR_VALUE_VALID, MSR_PATH_L2);
	mx_set_filter_at_exit(self->s, KVM_MSR_FILTER_DEFAULT_ALLOW, &deny_efer_read);
	l2_probe(self->s);
	dynamic_end(_metadata, self->s, &self->res, self->name);
}

SUITE_HARNESS_MAIN
