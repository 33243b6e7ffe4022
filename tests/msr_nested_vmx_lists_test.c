// SPDX-License-Identifier: GPL-2.0
/*
 * Nested VMX: the VM-entry MSR-load list, the VM-exit MSR-store list and
 * the VM-exit MSR-load list under the userspace MSR filter, and the MSRs
 * that have VMCS fields of their own (api.rst 4.97's warning; vmx/nested.c
 * nested_vmx_load_msr(), nested_vmx_store_msr(), nested_vmx_abort()).
 *
 * The test VM is L1: it enters VMX operation with the library's vmx.h,
 * points its vmcs12's lists at the case's entries, says so (GUEST_SYNC),
 * and after the host has installed the filter and the exit mask it
 * VMLAUNCHes an L2 that only sets a flag and VMCALLs.  L1 then records
 * VM_EXIT_REASON and EXIT_QUALIFICATION.  Per case the model
 * (msr_model_vmx_transition()) says: whether L2 ran, L1's exit reason and
 * qualification (EXIT_REASON_MSR_LOAD_FAIL|FAILED_VMENTRY, the failing
 * entry's i + 1), a VM-Abort (KVM_EXIT_SHUTDOWN before L1 runs again),
 * which entries were loaded or stored (read back with KVM_GET_MSRS and
 * from the store area) and that no KVM_EXIT_X86_RDMSR/WRMSR comes,
 * whatever the exit mask.  The lists are filtered from 6.12 on
 * (653ea4489e69); the model follows the running kernel.
 *
 * Every check is nested_vmx_lists.<msr>.<list>.<check> for the baseline.
 * Needs VMX in KVM_GET_SUPPORTED_CPUID (kvm_intel with nested=1); elsewhere
 * (kvm_amd, kvm_pvm) every test SKIPs with the reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "suite_test.h"
#include "msr_divergence.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "ucall_common.h"
#include "vmx.h"

#define SOURCE		"nested_vmx_lists"
#define LIST_MAX	3
#define SENTINEL	0x5a5a5a5a5a5a5a5aull	/* a store entry's value before the exit */
#define L2_STACK	256
#define MAX_USER_EXITS	8

/* Guest memory shared by the host, L1 and L2 (one page, list arrays 16-byte aligned). */
struct lists_prog {
	struct vmx_msr_entry list[MSR_VMX_LISTS][LIST_MAX];
	uint64_t list_gpa[MSR_VMX_LISTS];
	uint32_t n[MSR_VMX_LISTS];
	uint32_t dedicated;		/* load/save PAT and EFER through their VMCS fields */
	uint64_t guest_pat, host_pat, guest_efer, host_efer;
	/* written by L1 and L2 */
	uint32_t unsupported;		/* the PAT/EFER controls are not allowed by L1's VMX MSRs */
	uint32_t launched;		/* L1 ran again after VMLAUNCH */
	uint32_t vmfail;
	uint32_t l2_ran;
	uint32_t exit_reason;
	uint64_t exit_qual, saved_pat, saved_efer;
};

static struct lists_prog *l2_prog;

static void l2_guest_code(void)
{
	l2_prog->l2_ran = 1;
	vmcall();
}

static void l1_guest_code(struct vmx_pages *vmx, struct lists_prog *p)
{
	const uint32_t entry_ctl = VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER;
	const uint32_t exit_ctl = VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
				  VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER;
	unsigned long l2_stack[L2_STACK];

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_stack[L2_STACK]);
	l2_prog = p;

	vmwrite(VM_ENTRY_MSR_LOAD_ADDR, p->list_gpa[MSR_VMX_ENTRY_LOAD]);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, p->n[MSR_VMX_ENTRY_LOAD]);
	vmwrite(VM_EXIT_MSR_STORE_ADDR, p->list_gpa[MSR_VMX_EXIT_STORE]);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, p->n[MSR_VMX_EXIT_STORE]);
	vmwrite(VM_EXIT_MSR_LOAD_ADDR, p->list_gpa[MSR_VMX_EXIT_LOAD]);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, p->n[MSR_VMX_EXIT_LOAD]);
	if (p->dedicated) {
		if ((rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS) >> 32 & entry_ctl) != entry_ctl ||
		    (rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS) >> 32 & exit_ctl) != exit_ctl) {
			p->unsupported = 1;
			GUEST_DONE();
		}
		vmwrite(VM_ENTRY_CONTROLS, vmreadz(VM_ENTRY_CONTROLS) | entry_ctl);
		vmwrite(VM_EXIT_CONTROLS, vmreadz(VM_EXIT_CONTROLS) | exit_ctl);
		vmwrite(GUEST_IA32_PAT, p->guest_pat);
		vmwrite(HOST_IA32_PAT, p->host_pat);
		vmwrite(GUEST_IA32_EFER, p->guest_efer);
		vmwrite(HOST_IA32_EFER, p->host_efer);
	}
	/* The host installs the filter now: no RDMSR/WRMSR of L1's from here on. */
	GUEST_SYNC(1);
	p->vmfail = vmlaunch();
	p->launched = 1;
	if (!p->vmfail) {
		p->exit_reason = vmreadz(VM_EXIT_REASON);
		p->exit_qual = vmreadz(EXIT_QUALIFICATION);
		p->saved_pat = vmreadz(GUEST_IA32_PAT);
		p->saved_efer = vmreadz(GUEST_IA32_EFER);
	}
	GUEST_DONE();
}

/* --- the cases ------------------------------------------------------------------ */

/* The list MSRs: no value check beyond canonical, unused by the guest code. */
static const uint32_t list_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_KERNEL_GS_BASE };
#define NR_LIST_MSRS	ARRAY_SIZE(list_msrs)

/* Per MSR: L1's value before the run, what the entry list loads, what the exit list loads. */
static const uint64_t msr_value[NR_LIST_MSRS][3] = {
	{ 0x0023001000000000ull, 0x0033002000000000ull, 0x0043003000000000ull },
	{ 0xffffffff81000010ull, 0xffffffffa0000020ull, 0xffffffffb0000030ull },
	{ 0xffff888000001000ull, 0xffff888000002000ull, 0xffff888000003000ull },
};

enum lists_filter {
	FILTER_NONE,
	FILTER_DENY_WRITE,	/* DEFAULT_ALLOW, a WRITE range denies the target */
	FILTER_DENY_READ,	/* DEFAULT_ALLOW, a READ range denies the target */
	FILTER_ONLY_TARGET,	/* DEFAULT_DENY, a READ|WRITE range allows the target only */
	FILTER_DENY_RW,		/* DEFAULT_DENY, READ|WRITE ranges deny the targets (dedicated) */
};

static const char *const filter_str[] = {
	[FILTER_NONE] = "none", [FILTER_DENY_WRITE] = "DEFAULT_ALLOW, WRITE of the target denied",
	[FILTER_DENY_READ] = "DEFAULT_ALLOW, READ of the target denied",
	[FILTER_ONLY_TARGET] = "DEFAULT_DENY, only the target allowed (READ|WRITE)",
	[FILTER_DENY_RW] = "DEFAULT_DENY, READ|WRITE of PAT and EFER denied",
};

struct lists_case {
	const char *name;
	enum lists_filter filter;
	uint32_t target;		/* the MSR the filter is about */
	uint64_t mask;			/* KVM_CAP_X86_USER_SPACE_MSR */
	uint32_t msrs[MSR_VMX_LISTS][LIST_MAX];	/* 0-terminated */
};

#define M_FILTER	KVM_MSR_EXIT_REASON_FILTER
#define M_ALL		KVM_MSR_EXIT_REASON_VALID_MASK
#define ENTRY(...)	[MSR_VMX_ENTRY_LOAD] = { __VA_ARGS__ }
#define STORE(...)	[MSR_VMX_EXIT_STORE] = { __VA_ARGS__ }
#define EXITL(...)	[MSR_VMX_EXIT_LOAD] = { __VA_ARGS__ }

static const struct lists_case entry_cases[] = {
	{ "third entry write-denied, mask 0", FILTER_DENY_WRITE, MSR_LSTAR, 0,
	  { ENTRY(MSR_STAR, MSR_KERNEL_GS_BASE, MSR_LSTAR) } },
	{ "third entry write-denied, mask FILTER", FILTER_DENY_WRITE, MSR_LSTAR, M_FILTER,
	  { ENTRY(MSR_STAR, MSR_KERNEL_GS_BASE, MSR_LSTAR) } },
	{ "first entry write-denied, every reason in the mask, exit list loaded",
	  FILTER_DENY_WRITE, MSR_LSTAR, M_ALL,
	  { ENTRY(MSR_LSTAR, MSR_STAR), EXITL(MSR_KERNEL_GS_BASE) } },
	{ "read-denied entry loads", FILTER_DENY_READ, MSR_LSTAR, M_FILTER,
	  { ENTRY(MSR_LSTAR, MSR_STAR) } },
	{ "second entry denied by DEFAULT_DENY", FILTER_ONLY_TARGET, MSR_KERNEL_GS_BASE, M_FILTER,
	  { ENTRY(MSR_KERNEL_GS_BASE, MSR_STAR) } },
};

static const struct lists_case store_cases[] = {
	{ "second entry read-denied, mask FILTER", FILTER_DENY_READ, MSR_LSTAR, M_FILTER,
	  { ENTRY(MSR_KERNEL_GS_BASE), STORE(MSR_KERNEL_GS_BASE, MSR_LSTAR) } },
	{ "read-denied entry, mask 0, exit list still loaded", FILTER_DENY_READ, MSR_STAR, 0,
	  { STORE(MSR_STAR), EXITL(MSR_LSTAR) } },
	{ "write-denied entry stores", FILTER_DENY_WRITE, MSR_LSTAR, M_FILTER,
	  { STORE(MSR_LSTAR, MSR_KERNEL_GS_BASE) } },
};

static const struct lists_case exit_load_cases[] = {
	{ "second entry write-denied, mask FILTER", FILTER_DENY_WRITE, MSR_LSTAR, M_FILTER,
	  { EXITL(MSR_STAR, MSR_LSTAR) } },
	{ "read-denied entry loads", FILTER_DENY_READ, MSR_LSTAR, M_ALL,
	  { STORE(MSR_STAR), EXITL(MSR_LSTAR) } },
};

/* --- one VM per case --------------------------------------------------------------- */

struct lists_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct lists_prog *p;
	struct msr_vcpu_model model;
	struct msr_div_case dcase;
};

static void lists_vm_create(struct lists_vm *v)
{
	vm_vaddr_t vmx_gva, prog_gva;
	struct msr_host_info host;
	unsigned int l;

	v->vm = vm_create_with_one_vcpu(&v->vcpu, l1_guest_code);
	suite_init_exceptions(v->vcpu);
	vcpu_alloc_vmx(v->vm, &vmx_gva);
	prog_gva = vm_vaddr_alloc_page(v->vm);
	v->p = addr_gva2hva(v->vm, prog_gva);
	memset(v->p, 0, getpagesize());
	for (l = 0; l < MSR_VMX_LISTS; l++)
		v->p->list_gpa[l] = addr_gva2gpa(v->vm, prog_gva +
						 offsetof(struct lists_prog, list[l]));
	vcpu_args_set(v->vcpu, 2, vmx_gva, prog_gva);
	msr_host_info_get(&host);
	msr_vcpu_model_from_host(&v->model, &host, v->vcpu);
	msr_div_case_of(&v->dcase, &v->model);
}

static uint8_t zero_bitmap[8], ones_bitmap[8] = { 0xff };

/* The case's filter for KVM and the same in the model's state. */
static void lists_filter(enum lists_filter kind, const uint32_t *targets, unsigned int nt,
			 struct kvm_msr_filter *f, struct msr_model_filter_state *s)
{
	struct msr_model_mem_region r[2] = {
		{ (uintptr_t)zero_bitmap, sizeof(zero_bitmap), zero_bitmap },
		{ (uintptr_t)ones_bitmap, sizeof(ones_bitmap), ones_bitmap },
	};
	struct msr_model_mem mem = { r, 2 };
	unsigned int i;

	memset(f, 0, sizeof(*f));
	msr_model_filter_state_init(s);
	if (kind == FILTER_NONE)
		return;
	f->flags = kind >= FILTER_ONLY_TARGET ? KVM_MSR_FILTER_DEFAULT_DENY : 0;
	for (i = 0; i < nt; i++) {
		f->ranges[i].base = targets[i];
		f->ranges[i].nmsrs = 1;
		f->ranges[i].flags = kind == FILTER_DENY_WRITE ? KVM_MSR_FILTER_WRITE :
				     kind == FILTER_DENY_READ ? KVM_MSR_FILTER_READ :
				     KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
		f->ranges[i].bitmap = kind == FILTER_ONLY_TARGET ? ones_bitmap : zero_bitmap;
	}
	TEST_ASSERT(!msr_model_filter_install(s, f, &mem).err, "the case's filter is invalid");
}

/* What KVM_RUN did after the sync: the userspace MSR exits, then how it ended. */
struct lists_run {
	unsigned int user_exits;
	uint32_t user_exit_reason, user_exit_index;	/* of the first */
	uint32_t end;			/* kvm_run exit_reason it ended with */
	uint64_t ucall;			/* UCALL_* with KVM_EXIT_IO */
	int rc, err;
};

static const char *run_end_str(const struct lists_run *r, char *buf, size_t len)
{
	if (r->rc)
		snprintf(buf, len, "KVM_RUN failed (errno %d)", r->err);
	else if (r->end == KVM_EXIT_SHUTDOWN)
		snprintf(buf, len, "KVM_EXIT_SHUTDOWN");
	else if (r->end == KVM_EXIT_IO && r->ucall == UCALL_DONE)
		snprintf(buf, len, "L1's GUEST_DONE");
	else
		snprintf(buf, len, "exit %s (ucall %llu)", exit_reason_str(r->end),
			 (unsigned long long)r->ucall);
	return buf;
}

/* Sync, filter and mask, then KVM_RUN until something other than an MSR exit. */
static bool lists_run(struct lists_vm *v, const struct kvm_msr_filter *f, bool has_filter,
		      uint64_t mask, struct lists_run *r)
{
	struct kvm_run *run = v->vcpu->run;
	struct ucall uc;

	memset(r, 0, sizeof(*r));
	suite_vcpu_run_ok(v->vcpu);
	if (run->exit_reason != KVM_EXIT_IO || get_ucall(v->vcpu, &uc) != UCALL_SYNC)
		return false;		/* L1's setup failed or p->unsupported */
	if (mask)
		vm_enable_cap(v->vm, KVM_CAP_X86_USER_SPACE_MSR, mask);
	if (has_filter)
		vm_ioctl(v->vm, KVM_X86_SET_MSR_FILTER, f);

	for (;;) {
		r->rc = suite_vcpu_run(v->vcpu);
		r->err = r->rc ? errno : 0;
		r->end = run->exit_reason;
		if (r->rc || (r->end != KVM_EXIT_X86_RDMSR && r->end != KVM_EXIT_X86_WRMSR) ||
		    r->user_exits == MAX_USER_EXITS)
			break;
		if (!r->user_exits++) {
			r->user_exit_reason = r->end;
			r->user_exit_index = run->msr.index;
		}
		run->msr.error = 1;	/* the model says it never comes: answer #GP */
	}
	if (!r->rc && r->end == KVM_EXIT_IO)
		r->ucall = get_ucall(v->vcpu, &uc);
	return true;
}

/* One failing check prints the case's setting first (once). */
struct lists_report {
	const char *test;
	const char *name;
	char setting[512];
	bool said;
	unsigned int bad;
};

/* Checks run by this process, for the tests' summary lines. */
static unsigned int total_checks;

static bool lists_expect(struct msr_div_tally *t, struct lists_vm *v, struct lists_report *rep,
			 bool ok, uint32_t msr, const char *op, const char *check,
			 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static bool lists_expect(struct msr_div_tally *t, struct lists_vm *v, struct lists_report *rep,
			 bool ok, uint32_t msr, const char *op, const char *check,
			 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ok && !rep->said) {
		suite_report(NULL, "FAIL %s, case \"%s\": %s", rep->test, rep->name, rep->setting);
		rep->said = true;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->bad += !ok;
	total_checks++;
	return msr_div_expect(t, &v->dcase, ok, SOURCE, msr, op, check, "  %s", msg);
}

static int msr_slot(uint32_t msr)
{
	unsigned int i;

	for (i = 0; i < NR_LIST_MSRS; i++)
		if (list_msrs[i] == msr)
			return i;
	return -1;
}

static unsigned int list_len(const struct lists_case *c, enum msr_vmx_list l)
{
	unsigned int n = 0;

	while (n < LIST_MAX && c->msrs[l][n])
		n++;
	return n;
}

static int describe_case(char *buf, size_t len, const struct lists_case *c,
			 const struct lists_vm *v)
{
	int o = snprintf(buf, len, "filter %s (target %s), exit mask %#llx, kernel %u.%u rules;",
			 filter_str[c->filter], msr_name(c->target), (unsigned long long)c->mask,
			 v->model.kernel >> 16, (v->model.kernel >> 8) & 0xff);
	unsigned int l, i;

	for (l = 0; l < MSR_VMX_LISTS; l++) {
		o += snprintf(buf + o, len - o, " %s [", msr_model_vmx_list_str(l));
		for (i = 0; i < list_len(c, l); i++)
			o += snprintf(buf + o, len - o, "%s%s", i ? ", " : "", msr_name(c->msrs[l][i]));
		o += snprintf(buf + o, len - o, "]");
	}
	return o;
}

/* The model's value of every list MSR after the transition, and the store area's. */
static void predict_values(const struct lists_case *c, const struct msr_vmx_transition *t,
			   uint64_t *cur, uint64_t *stored)
{
	unsigned int i;

	for (i = 0; i < NR_LIST_MSRS; i++)
		cur[i] = msr_value[i][0];
	for (i = 0; i < t->list[MSR_VMX_ENTRY_LOAD].done; i++)
		cur[msr_slot(c->msrs[MSR_VMX_ENTRY_LOAD][i])] =
			msr_value[msr_slot(c->msrs[MSR_VMX_ENTRY_LOAD][i])][1];
	for (i = 0; i < LIST_MAX; i++)
		stored[i] = t->list[MSR_VMX_EXIT_STORE].processed &&
			    i < t->list[MSR_VMX_EXIT_STORE].done ?
			    cur[msr_slot(c->msrs[MSR_VMX_EXIT_STORE][i])] : SENTINEL;
	for (i = 0; i < t->list[MSR_VMX_EXIT_LOAD].done; i++)
		cur[msr_slot(c->msrs[MSR_VMX_EXIT_LOAD][i])] =
			msr_value[msr_slot(c->msrs[MSR_VMX_EXIT_LOAD][i])][2];
}

/* The checks both kinds of case share: the run's end, L1's exit, L2, userspace exits. */
static void check_transition(struct msr_div_tally *t, struct lists_vm *v, struct lists_report *rep,
			     const struct msr_vmx_transition *want, const struct lists_run *r,
			     uint32_t msr, const char *op, const char *rule)
{
	const struct lists_prog *p = v->p;
	bool shutdown = !r->rc && r->end == KVM_EXIT_SHUTDOWN;
	bool done = !r->rc && r->end == KVM_EXIT_IO && r->ucall == UCALL_DONE;
	char end[96];

	lists_expect(t, v, rep, want->vm_abort ? shutdown : done, msr, op, "run",
		     "run: expected %s (rule %s), actual %s", want->vm_abort ?
		     "KVM_EXIT_SHUTDOWN (VM-Abort)" : "L1's GUEST_DONE", rule,
		     run_end_str(r, end, sizeof(end)));
	lists_expect(t, v, rep, !r->user_exits, msr, op, "user_exit",
		     "userspace exits: expected none (rule %s), actual %u, first %s of %s",
		     msr_rule_name(want->user_exit_rule), r->user_exits,
		     exit_reason_str(r->user_exit_reason), msr_name(r->user_exit_index));
	lists_expect(t, v, rep, p->l2_ran == want->l2_ran, msr, op, "l2_ran",
		     "L2: expected %s, actual %s (rule %s)", want->l2_ran ? "ran" : "never ran",
		     p->l2_ran ? "ran" : "never ran", rule);
	if (want->vm_abort) {
		lists_expect(t, v, rep, !p->launched, msr, op, "l1_exit",
			     "L1: expected never to run after VMLAUNCH (VM-Abort), actual it did (vmfail %u, exit reason %#x)",
			     p->vmfail, p->exit_reason);
		return;
	}
	lists_expect(t, v, rep, p->launched && !p->vmfail && p->exit_reason == want->l1_exit_reason &&
		     (want->l2_ran || p->exit_qual == want->l1_exit_qual), msr, op, "l1_exit",
		     "L1 after VMLAUNCH: expected exit reason %#x%s%.0llu (rule %s), actual %s, exit reason %#x, qualification %llu",
		     want->l1_exit_reason, want->l2_ran ? "" : ", qualification ",
		     want->l2_ran ? 0ull : (unsigned long long)want->l1_exit_qual, rule,
		     !p->launched ? "never resumed" : p->vmfail ? "VMfail" : "resumed",
		     p->exit_reason, (unsigned long long)p->exit_qual);
}

static unsigned int run_list_case(struct msr_div_tally *t, const char *test,
				  const struct lists_case *c, enum msr_vmx_list subject)
{
	__u32 idx[MSR_VMX_LISTS][MSR_MODEL_VMX_LIST_MAX] = { { 0 } };
	unsigned int n[MSR_VMX_LISTS], l, i;
	struct lists_report rep = { test, c->name };
	uint64_t cur[NR_LIST_MSRS], stored[LIST_MAX];
	struct msr_model_filter_state fs;
	struct msr_vmx_transition want;
	struct kvm_msr_filter f;
	struct lists_vm lv;
	struct lists_run r;
	const char *op = msr_model_vmx_list_str(subject);
	const char *rule;

	lists_vm_create(&lv);
	lists_filter(c->filter, &c->target, 1, &f, &fs);
	for (l = 0; l < MSR_VMX_LISTS; l++) {
		n[l] = list_len(c, l);
		lv.p->n[l] = n[l];
		for (i = 0; i < n[l]; i++) {
			int s = msr_slot(c->msrs[l][i]);

			idx[l][i] = c->msrs[l][i];
			lv.p->list[l][i].index = c->msrs[l][i];
			lv.p->list[l][i].value = l == MSR_VMX_EXIT_STORE ? SENTINEL :
						msr_value[s][l == MSR_VMX_ENTRY_LOAD ? 1 : 2];
		}
	}
	for (i = 0; i < NR_LIST_MSRS; i++)
		vcpu_set_msr(lv.vcpu, list_msrs[i], msr_value[i][0]);

	want = msr_model_vmx_transition(&fs, lv.model.kernel, c->mask, idx, n);
	predict_values(c, &want, cur, stored);
	rule = msr_rule_name(want.list[subject].rule);
	describe_case(rep.setting, sizeof(rep.setting), c, &lv);

	if (!lists_run(&lv, &f, c->filter != FILTER_NONE, c->mask, &r)) {
		lists_expect(t, &lv, &rep, false, c->target, op, "run",
			     "L1's VMX setup did not reach its sync (exit %s)",
			     exit_reason_str(lv.vcpu->run->exit_reason));
		kvm_vm_free(lv.vm);
		return rep.bad;
	}
	check_transition(t, &lv, &rep, &want, &r, c->target, op, rule);
	for (i = 0; i < NR_LIST_MSRS; i++) {
		uint64_t got = vcpu_get_msr(lv.vcpu, list_msrs[i]);

		lists_expect(t, &lv, &rep, got == cur[i], list_msrs[i], op, "value",
			     "%s after the transition (KVM_GET_MSRS): expected %#llx, actual %#llx (%s %u of %u entries, rule %s)",
			     msr_name(list_msrs[i]), (unsigned long long)cur[i],
			     (unsigned long long)got, op, want.list[subject].done, n[subject], rule);
	}
	for (i = 0; i < n[MSR_VMX_EXIT_STORE]; i++) {
		uint32_t msr = c->msrs[MSR_VMX_EXIT_STORE][i];
		uint64_t got = lv.p->list[MSR_VMX_EXIT_STORE][i].value;

		lists_expect(t, &lv, &rep, got == stored[i], msr, "exit_store", "stored",
			     "store entry %u (%s): expected %#llx%s, actual %#llx (rule %s)", i,
			     msr_name(msr), (unsigned long long)stored[i],
			     stored[i] == SENTINEL ? " (untouched)" : "", (unsigned long long)got,
			     msr_rule_name(want.list[MSR_VMX_EXIT_STORE].rule));
	}
	kvm_vm_free(lv.vm);
	return rep.bad;
}

/* Nested VMX and the filter ABI, else SKIP with the reason (kvm_amd, kvm_pvm). */
#define REQUIRE_VMX()									\
	do {										\
		if (!kvm_cpu_has(X86_FEATURE_VMX))					\
			SKIP(return, "no VMX in KVM_GET_SUPPORTED_CPUID (backend %s): nested VMX "\
			     "needs kvm_intel with nested=1; run it under scripts/vmtest.sh "	\
			     "--emulator bochs", msr_backend_name());			\
		TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_MSR_FILTER));			\
		TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR));			\
	} while (0)

static void run_list_table(struct __test_metadata *_metadata, const char *test,
			   const struct lists_case *cases, unsigned int nr, enum msr_vmx_list subject)
{
	struct msr_div_tally t = { 0 };
	char sub[64];
	unsigned int i, bad = 0;

	for (i = 0; i < nr; i++)
		bad += run_list_case(&t, test, &cases[i], subject);
	snprintf(sub, sizeof(sub), "global.%s", test);
	suite_report(NULL, "%s: %u cases, %u checks, kernel %u.%u: lists %sfiltered (rule 11)", test,
		     nr, total_checks, msr_host_kernel() >> 16, (msr_host_kernel() >> 8) & 0xff,
		     msr_model_vmx_lists_filtered(msr_host_kernel()) ? "" : "not ");
	msr_div_tally_print(&t, sub, stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u failing checks in %u cases; rerun: msr_nested_vmx_lists_test -r %s",
				 bad, nr, sub);
}

TEST(entry_load_list)
{
	REQUIRE_VMX();
	run_list_table(_metadata, "entry_load_list", entry_cases, ARRAY_SIZE(entry_cases),
		       MSR_VMX_ENTRY_LOAD);
}

TEST(exit_store_list)
{
	REQUIRE_VMX();
	run_list_table(_metadata, "exit_store_list", store_cases, ARRAY_SIZE(store_cases),
		       MSR_VMX_EXIT_STORE);
}

TEST(exit_load_list)
{
	REQUIRE_VMX();
	run_list_table(_metadata, "exit_load_list", exit_load_cases, ARRAY_SIZE(exit_load_cases),
		       MSR_VMX_EXIT_LOAD);
}

/* --- dedicated VMCS fields ------------------------------------------------------------ */

#define PAT_L1		0x0007040600070406ull	/* the power-on PAT */
#define PAT_HOST	0x0007040600070506ull	/* entry 1 WP */
#define PAT_GUEST	0x0007040600070106ull	/* entry 1 WC */

/*
 * One field's value after the transition as the model says: loaded at
 * VM-entry (L2's), saved at VM-exit (vmcs12's guest field), loaded at
 * VM-exit (L1's).
 */
struct field_want {
	uint64_t l2, saved, l1;
};

static struct field_want field_predict(const struct msr_model_filter_state *fs, uint32_t msr,
				       uint64_t l1_before, uint64_t guest, uint64_t host)
{
	struct field_want w;

	w.l2 = msr_model_vmx_dedicated_field(fs, msr, KVM_MSR_FILTER_WRITE).allowed ? guest : l1_before;
	w.saved = msr_model_vmx_dedicated_field(fs, msr, KVM_MSR_FILTER_READ).allowed ? w.l2 : guest;
	w.l1 = msr_model_vmx_dedicated_field(fs, msr, KVM_MSR_FILTER_WRITE).allowed ? host : w.l2;
	return w;
}

static unsigned int run_dedicated_case(struct __test_metadata *_metadata, struct msr_div_tally *t,
				       uint64_t mask)
{
	const uint32_t targets[] = { MSR_IA32_CR_PAT, MSR_EFER };
	struct lists_report rep = { "dedicated_fields", "PAT and EFER through VMCS fields" };
	struct msr_model_filter_state fs;
	struct msr_vmx_transition want = { 0 };
	struct field_want pat, efer;
	struct kvm_msr_filter f;
	struct lists_vm lv;
	struct lists_run r;
	uint64_t efer0, got;
	const char *rule = msr_rule_name(MSR_RULE_VMX_DEDICATED_UNFILTERED);

	lists_vm_create(&lv);
	lists_filter(FILTER_DENY_RW, targets, 2, &f, &fs);
	vcpu_set_msr(lv.vcpu, MSR_IA32_CR_PAT, PAT_L1);
	efer0 = vcpu_get_msr(lv.vcpu, MSR_EFER);
	lv.p->dedicated = 1;
	lv.p->guest_pat = PAT_GUEST;
	lv.p->host_pat = PAT_HOST;
	lv.p->guest_efer = efer0 ^ EFER_SCE;
	lv.p->host_efer = efer0;
	pat = field_predict(&fs, MSR_IA32_CR_PAT, PAT_L1, PAT_GUEST, PAT_HOST);
	efer = field_predict(&fs, MSR_EFER, efer0, efer0 ^ EFER_SCE, efer0);
	snprintf(rep.setting, sizeof(rep.setting),
		 "filter %s, exit mask %#llx; VM-entry loads PAT %#llx and EFER %#llx, VM-exit saves both and loads PAT %#llx and EFER %#llx (L1 before: PAT %#llx)",
		 filter_str[FILTER_DENY_RW], (unsigned long long)mask,
		 (unsigned long long)PAT_GUEST, (unsigned long long)(efer0 ^ EFER_SCE),
		 (unsigned long long)PAT_HOST, (unsigned long long)efer0,
		 (unsigned long long)PAT_L1);

	if (!lists_run(&lv, &f, true, mask, &r)) {
		bool unsupported = lv.p->unsupported;

		if (!unsupported)
			lists_expect(t, &lv, &rep, false, MSR_IA32_CR_PAT, "vmcs_field", "run",
				     "L1's VMX setup did not reach its sync");
		kvm_vm_free(lv.vm);
		if (unsupported)
			SKIP(return 0, "L1's VMX MSRs do not allow the PAT/EFER load/save controls");
		return rep.bad;
	}
	/* No list: the transition is a plain VMCALL exit, whatever the filter. */
	want.l2_ran = true;
	want.l1_exit_reason = MSR_MODEL_VMX_EXIT_VMCALL;
	(void)msr_model_vmx_list_user_exit(mask, &want.user_exit_rule);
	check_transition(t, &lv, &rep, &want, &r, MSR_IA32_CR_PAT, "vmcs_field", rule);
	lists_expect(t, &lv, &rep, lv.p->saved_pat == pat.saved, MSR_IA32_CR_PAT, "vmcs_field", "saved",
		     "GUEST_IA32_PAT saved at VM-exit: expected %#llx (L2's, loaded at VM-entry; rule %s), actual %#llx",
		     (unsigned long long)pat.saved, rule, (unsigned long long)lv.p->saved_pat);
	lists_expect(t, &lv, &rep, lv.p->saved_efer == efer.saved, MSR_EFER, "vmcs_field", "saved",
		     "GUEST_IA32_EFER saved at VM-exit: expected %#llx (rule %s), actual %#llx",
		     (unsigned long long)efer.saved, rule, (unsigned long long)lv.p->saved_efer);
	got = vcpu_get_msr(lv.vcpu, MSR_IA32_CR_PAT);
	lists_expect(t, &lv, &rep, got == pat.l1, MSR_IA32_CR_PAT, "vmcs_field", "value",
		     "L1's PAT after VM-exit (HOST_IA32_PAT loaded): expected %#llx (rule %s), actual %#llx",
		     (unsigned long long)pat.l1, rule, (unsigned long long)got);
	got = vcpu_get_msr(lv.vcpu, MSR_EFER);
	lists_expect(t, &lv, &rep, got == efer.l1, MSR_EFER, "vmcs_field", "value",
		     "L1's EFER after VM-exit (HOST_IA32_EFER loaded): expected %#llx (rule %s), actual %#llx",
		     (unsigned long long)efer.l1, rule, (unsigned long long)got);
	kvm_vm_free(lv.vm);
	return rep.bad;
}

TEST(dedicated_fields)
{
	const uint64_t masks[] = { 0, KVM_MSR_EXIT_REASON_FILTER };
	struct msr_div_tally t = { 0 };
	unsigned int i, bad = 0;

	REQUIRE_VMX();
	for (i = 0; i < ARRAY_SIZE(masks); i++)
		bad += run_dedicated_case(_metadata, &t, masks[i]);
	suite_report(NULL, "dedicated_fields: %zu cases, %u checks", ARRAY_SIZE(masks), total_checks);
	msr_div_tally_print(&t, "global.dedicated_fields", stderr);
	EXPECT_EQ(0, bad) TH_LOG("%u failing checks; rerun: msr_nested_vmx_lists_test -r global.dedicated_fields",
				 bad);
}

SUITE_HARNESS_MAIN
