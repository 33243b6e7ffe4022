// SPDX-License-Identifier: GPL-2.0
/*
 * msr_exit: the userspace MSR exit protocol (KVM_CAP_X86_USER_SPACE_MSR,
 * KVM_EXIT_X86_RDMSR/WRMSR, api.rst 5 and 7.21) under a fuzzed exit mask,
 * filter, guest RDMSR/WRMSR sequence and userspace answers, every exit and
 * every guest-observed result checked against the model
 * (msr_model_guest_access(), msr_model_complete_exit()).
 *
 * Input format (little endian; reads past the end give zeros, so every
 * byte string is exactly one input):
 *
 *   u8 mb          exit mask = mb & 7 (KVM_MSR_EXIT_REASON_*), set with
 *                  KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) if the VM has
 *                  another one.  mb & 0x08: afterwards a second ENABLE_CAP
 *                  with args[0] = u64 A and cap.flags = (mb & 0x10 ? u32 F
 *                  : 0) that follow (invalid bits: errno per
 *                  msr_model_cap_user_space_msr(); rejected, the mask stays).
 *                  mb & 0x20: the guest CPUID state (lib/msr_host.h) of the
 *                  VM the input runs on: set = present (the toggled
 *                  features KVM supports), clear = absent (no toggled
 *                  feature: the same guest on every host; the bit was
 *                  unused before, and clear in every saved regression, so
 *                  those replay as they did).  mb & 0x40: each op
 *                  carries one more byte xb (below; clear in every
 *                  regression saved before it, so those decode as they
 *                  did).  mb & 0x80: the input runs as L2 under the
 *                  suite's L1 (lib/msr_case.h MSR_PATH_L2: nested SVM or
 *                  VMX) where the host has nested SVM/VMX (read once per
 *                  process; elsewhere it runs as without the bit, which the
 *                  decoded input says), on a VM of its own in the guest CPUID
 *                  state present (L1 needs SVM/VMX; mb & 0x20 unused); xb
 *                  then picks L1's map (below).
 *   u8 fh          filter F: flags = fh & 8 (DEFAULT_DENY), nranges =
 *                  (fh & 7) % 5; t = fh >> 4: t >= 9 is a "twist" (below).
 *   [u8 tb]        only with a twist.
 *   nranges x      rf, [u32 raw if (rf >> 2) >= 44], off, nm, pattern:
 *     flags  {R|W, R, W, R|W}[rf & 3];
 *     base   anchor - (off & 0x1f), anchor = catalog entry (rf >> 2) % 22
 *            or raw (rf >> 2 >= 44);
 *     nmsrs  1 + nm + (off >> 5) * 256 (1..2048);
 *     bitmap every byte = pattern.
 *   ops until the input ends (at most ME_MAX_OPS), each:
 *     u8 ob        ob & 1: WRMSR (else RDMSR); (ob >> 1) & 3: MSR selector
 *                  0/1 catalog entry, 2 x2APIC, 3 raw u32; (ob >> 3) & 7:
 *                  value kind (0-2 valid, 3 reserved high bit, 4 reserved
 *                  low bit, 5 non-canonical, 6 PAT reserved type, 7 raw);
 *                  ob >> 6: re-entry after an exit (0/1 plain, 2 one
 *                  KVM_RUN with immediate_exit = 1 first, 3 one KVM_RUN with
 *                  a pending signal first).
 *     u8 | u32     catalog entry (% 22) | x2APIC 0x800 + u8 | raw index.
 *     [u64 p]      WRMSR only: value parameter.
 *     u64 data     the answer if the op exits: msr.data,
 *     u8 error     msr.error,
 *     u8 sc        scribbles: bit 0 msr.index, bit 1 msr.reason, bit 2 pad.
 *     [u8 xb]      only with mb & 0x40: xb & 1 the forced emulation prefix
 *                  (where kvm.force_emulation_prefix is on, read once per
 *                  process; elsewhere the op runs natively: the same verdict
 *                  on a host every time, the decoded input says which);
 *                  (xb >> 1) & 7: 0 the RDMSR/WRMSR above, 1.. an
 *                  instruction that reads MSRs as a side effect (enum
 *                  msr_insn: 1 RDTSCP, 2 RDPID, 3 RDTSC, 4 SYSCALL,
 *                  5 SYSENTER, 6 SWAPGS, 7 SYSCALL in compatibility
 *                  mode): a case of msr_model_side_effect(), named
 *                  by msr_insn_msr() (the decoded index, value and answer
 *                  unused).  It is the decoded RDMSR/WRMSR instead where the
 *                  model says KVM cannot complete it or does not predict
 *                  it here (SYSENTER on AMD or emulated, RDTSCP emulated,
 *                  RDTSCP/RDPID natively without their CPUID bit: the
 *                  absent state), or an earlier op of the input stored an
 *                  MSR it reads (or EFER: SCE).  Either guest CPUID state:
 *                  every VM holds the side-effect values
 *                  (guest_msr_side_effect_load() at its creation, so they
 *                  are the initial values every input starts from).
 *                  On an L2 input (mb & 0x80) xb & 1 is L1's map instead:
 *                  set, L1 intercepts the op (the first op of an index
 *                  decides for the later ones: see l1_maps()); the other
 *                  bits are unused (no prefix, no side-effect instruction
 *                  in L2).
 *
 * F is always valid (DEFAULT_DENY without ranges is dropped).  A twist is a
 * second install right after F, derived from it, that the model usually
 * rejects (tb picks the details): 9 filter flags, 10 DEFAULT_DENY with only
 * empty ranges, 11 range flags invalid, 12 range flags 0, 13 bitmap too big,
 * 14 bitmap faults (cut short by a guard page, or NULL), 15 an empty range
 * with invalid flags (skipped: accepted).  The guest ops run under whatever
 * the model says is in force: F after a rejected twist, so "a rejected
 * filter leaves the previous one" is checked by every op.
 *
 * Values: "valid" changes only the bits the guest does not depend on
 * (msr_matrix.c's safe bits: EFER.SCE, PAT entry 0 stays WB, canonical
 * bases...); the fault kinds add what the model says faults; raw keeps
 * EFER.LME/LMA/NX and PAT entry 0, and is demoted to valid where the model
 * would store it.  Indices outside the catalog: see msr_case_predict().
 *
 * The ops are cases of the case engine (lib/msr_case.h): predicted, run as
 * one guest program, checked and named by it (signature
 * <msr>.<rdmsr|wrmsr>.<check>, the first failing check of the first op
 * that fails), plus readback (KVM_GET_MSRS of the catalog MSRs the input
 * wrote: every input in replay, every 8th while fuzzing), none.cap.errno,
 * none.filter.errno and none.program.run (exits after the last op, a run
 * that ends otherwise).
 *
 * Speed: a pool of four VMs per guest CPUID state (the CPUID is fixed
 * before a vCPU's first KVM_RUN, so a state is a VM of its own), each
 * input on the one of its state that already holds its filter, else on the
 * one installed longest ago (installs spaced by the others' work); a
 * state's VMs are created when an input first needs them, so a run of
 * absent inputs costs what it did before the present state existed; an
 * identical filter or mask is not set again; one KVM_RUN
 * per program plus one per exit (two with a re-entry); per input that wrote
 * a catalog MSR one KVM_SET_MSRS back to the VM's initial values (every
 * input starts from the same MSR state, whatever KVM did) and, every 8th
 * time (always in replay), a KVM_GET_MSRS read-back before it.  Typical
 * input: mask + filter with 1 range + 2 ops, ~45 bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "msr_case.h"
#include "msr_filter_specs.h"
#include "msr_names.h"
#include "msr_values.h"

#define ME_MAX_OPS		12
#define ME_DECODED_RANGES	4
#define ME_RANGES		(ME_DECODED_RANGES + 4)	/* + a twist range and gaps */
#define ME_RAW_BASE_SEL		44
#define ME_SCRIBBLE_REASON	0x80u
#define ME_VM_POOL		4	/* per guest CPUID state */
#define ME_CPUID_PRESENT	0x20	/* mb: the guest CPUID state */
#define ME_OP_EXTRA		0x40	/* mb: each op carries xb */
#define ME_XB_FEP		0x01	/* xb: the forced emulation prefix */
#define ME_L2			0x80	/* mb: the input runs as L2 */
#define ME_XB_L1		0x01	/* xb of an L2 input: L1's map intercepts the op */
#define ME_READBACK_EVERY	8	/* fuzzing; replay: every input */

/* Feedback tags. */
enum { TAG_CAP = 0xe1, TAG_FILTER, TAG_OP, TAG_COMPLETE, TAG_RAW, TAG_REENTRY, TAG_INSN, TAG_L1 };

enum me_sel { SEL_CATALOG, SEL_X2APIC, SEL_RAW };
enum me_twist {
	TW_NONE, TW_FILTER_FLAGS, TW_DENY_EMPTY, TW_RANGE_FLAGS, TW_RANGE_ZERO,
	TW_BITMAP_SIZE, TW_BITMAP_FAULT, TW_EMPTY_SKIPPED,
};

static const char *const twist_names[] = {
	"none", "filter flags", "deny with empty ranges", "range flags", "range flags 0",
	"bitmap size", "bitmap fault", "empty range, bad flags",
};

/* ---- the decoded input ---------------------------------------------------- */

struct me_range {
	__u32 flags, base, nmsrs;
	__u8 pattern;
	enum fuzz_place place;	/* in its slot (fuzz.h) */
	__u8 arg;
};

/* A filter as the harness builds it: compared to skip identical installs. */
struct me_fspec {
	__u32 flags;
	unsigned int nranges;	/* ranges[] slots used (empty ones included) */
	struct me_range r[ME_RANGES];
};

struct me_op {
	bool write;
	enum me_sel sel;
	__u32 index;
	enum msr_value_kind vkind;
	__u64 param;
	enum msr_reentry reentry;
	__u64 data;
	__u8 error;
	__u8 scribble;
	bool fep;		/* xb: forced emulation asked (runs so if FEP is on) */
	enum msr_insn insn;	/* xb: the instruction (MSR_INSN_ACCESS: RDMSR/WRMSR) */
	bool l1;		/* L2 input: L1's map intercepts it (xb, see l1_maps()) */
};

struct me_input {
	enum msr_cpuid_state cpuid;	/* the VM's guest CPUID */
	bool extra;			/* mb & ME_OP_EXTRA: the ops carry xb */
	bool l2;			/* mb & ME_L2: as L2 (where the host runs L1) */
	__u64 mask;
	bool bad_cap;
	__u64 bad_args0;
	__u32 bad_flags;
	struct me_fspec f;
	enum me_twist twist;
	__u8 tb;
	struct me_fspec ft;	/* F with the twist */
	unsigned int nops;
	struct me_op ops[ME_MAX_OPS];
};

static void twist_filter(struct me_input *x)
{
	struct me_fspec *t = &x->ft;
	__u8 tb = x->tb;
	unsigned int slot = x->f.nranges + (tb >> 6);
	struct me_range *r = &t->r[slot];
	unsigned int i;

	*t = x->f;
	if (x->twist == TW_FILTER_FLAGS) {
		t->flags |= 1u << (1 + tb % 31);
		return;
	}
	if (x->twist == TW_DENY_EMPTY) {
		t->flags = KVM_MSR_FILTER_DEFAULT_DENY;
		for (i = 0; i < t->nranges; i++)
			t->r[i].nmsrs = 0;
		return;
	}
	/* An extra range after F's (tb >> 6 empty slots between). */
	*r = (struct me_range){
		.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		.base = msr_catalog_table[tb % MSR_CATALOG_SIZE].index & ~7u,
		.nmsrs = 8 + (tb & 0x38),
		.pattern = tb,
		.place = FUZZ_PLACE_NORMAL,
	};
	t->nranges = slot + 1;
	switch (x->twist) {
	case TW_RANGE_FLAGS:
		r->flags |= 1u << (2 + tb % 30);
		break;
	case TW_RANGE_ZERO:
		r->flags = 0;
		break;
	case TW_BITMAP_SIZE:
		r->nmsrs = tb & 1 ? 0xffffffffu - (tb >> 1) :
			   KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 1 + (tb >> 1) * 64;
		break;
	case TW_BITMAP_FAULT:
		/* Cut short by the guard page by 1..size bytes, or NULL. */
		r->place = tb & 0x80 ? FUZZ_PLACE_NULL : FUZZ_PLACE_TRUNCATED;
		r->arg = tb;
		break;
	case TW_EMPTY_SKIPPED:
		r->nmsrs = 0;
		r->flags = 1u << (2 + tb % 30);
		break;
	default:
		break;
	}
}

/*
 * L1's map is one bit per (MSR, access) for a whole program (the engine
 * requires its cases to agree): the first op of an index decides for the
 * later ones of the same access, of any access outside the catalog (a
 * WRMSR there may be demoted to RDMSR); a WRMSR of EFER is always
 * intercepted (passed through, clearing SVME would end nested mode:
 * svm_set_efer()), as in the matrix's l2 groups.
 */
static void l1_maps(struct me_input *x)
{
	unsigned int i, j;

	for (i = 0; i < x->nops; i++) {
		struct me_op *o = &x->ops[i];
		bool catalog = msr_catalog_table_find(o->index);

		for (j = 0; j < i; j++)
			if (x->ops[j].index == o->index && (!catalog || x->ops[j].write == o->write)) {
				o->l1 = x->ops[j].l1;
				break;
			}
		if (o->index == MSR_CAT_EFER && o->write)
			o->l1 = true;
	}
}

static void decode(const uint8_t *data, size_t size, struct me_input *x)
{
	struct fuzz_in in;
	__u8 mb, fh, t;
	unsigned int i;

	memset(x, 0, sizeof(*x));
	fuzz_in_init(&in, data, size);

	mb = fuzz_u8(&in);
	x->mask = mb & KVM_MSR_EXIT_REASON_VALID_MASK;
	x->cpuid = mb & ME_CPUID_PRESENT ? MSR_CPUID_PRESENT : MSR_CPUID_ABSENT;
	x->l2 = mb & ME_L2;
	x->extra = mb & ME_OP_EXTRA;
	if (mb & 0x08) {
		x->bad_cap = true;
		x->bad_args0 = fuzz_u64(&in);
		x->bad_flags = mb & 0x10 ? fuzz_u32(&in) : 0;
	}

	fh = fuzz_u8(&in);
	t = fh >> 4;
	x->twist = t >= 9 ? (enum me_twist)(t - 8) : TW_NONE;
	if (x->twist)
		x->tb = fuzz_u8(&in);
	x->f.nranges = (fh & 7) % (ME_DECODED_RANGES + 1);
	x->f.flags = x->f.nranges && (fh & 8) ? KVM_MSR_FILTER_DEFAULT_DENY : 0;
	for (i = 0; i < x->f.nranges; i++) {
		static const __u32 flags[] = {
			KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, KVM_MSR_FILTER_READ,
			KVM_MSR_FILTER_WRITE, KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		};
		struct me_range *r = &x->f.r[i];
		__u8 rf = fuzz_u8(&in), off, nm;
		__u32 anchor;

		if ((rf >> 2) >= ME_RAW_BASE_SEL)
			anchor = fuzz_u32(&in);
		else
			anchor = msr_catalog_table[(rf >> 2) % MSR_CATALOG_SIZE].index;
		off = fuzz_u8(&in);
		nm = fuzz_u8(&in);
		r->flags = flags[rf & 3];
		r->base = anchor - (off & 0x1f);
		r->nmsrs = 1 + nm + (off >> 5) * 256u;
		r->pattern = fuzz_u8(&in);
		r->place = FUZZ_PLACE_NORMAL;
	}
	if (x->twist)
		twist_filter(x);

	while (fuzz_in_left(&in) && x->nops < ME_MAX_OPS) {
		struct me_op *o = &x->ops[x->nops++];
		__u8 ob = fuzz_u8(&in), s = (ob >> 1) & 3, v = (ob >> 3) & 7;

		o->write = ob & 1;
		o->sel = s < 2 ? SEL_CATALOG : s == 2 ? SEL_X2APIC : SEL_RAW;
		if (o->sel == SEL_CATALOG)
			o->index = msr_catalog_table[fuzz_u8(&in) % MSR_CATALOG_SIZE].index;
		else if (o->sel == SEL_X2APIC)
			o->index = MSR_MODEL_X2APIC_FIRST + fuzz_u8(&in);
		else
			o->index = fuzz_u32(&in);
		o->vkind = v < 3 ? MSR_VALUE_VALID : (enum msr_value_kind)(v - 2);
		if (o->write)
			o->param = fuzz_u64(&in);
		o->reentry = ob >> 6 < 2 ? MSR_REENTRY_PLAIN : ob >> 6 == 2 ? MSR_REENTRY_IMMEDIATE_EXIT : MSR_REENTRY_SIGNAL;
		o->data = fuzz_u64(&in);
		o->error = fuzz_u8(&in);
		o->scribble = fuzz_u8(&in);
		if (x->extra) {
			__u8 xb = fuzz_u8(&in), k = (xb >> 1) & 7;

			o->fep = xb & ME_XB_FEP;
			o->insn = k < MSR_INSNS ? (enum msr_insn)k : MSR_INSN_ACCESS;
		}
		if (x->l2) {
			/* As L2: xb & 1 is L1's map; no side-effect instruction, no prefix. */
			o->l1 = o->fep;
			o->fep = false;
			o->insn = MSR_INSN_ACCESS;
		}
	}
	if (x->l2)
		l1_maps(x);
}

/* kvm.force_emulation_prefix, read once: an input's path is fixed per process. */
static bool me_fep_on(void)
{
	static int on = -1;

	if (on < 0)
		on = suite_forced_emulation_enabled();
	return on;
}

/* Whether this host runs L1 (nested SVM/VMX), read once: as for the prefix. */
static bool me_l2_on(void)
{
	static int on = -1;
	const char *why;

	if (on < 0)
		on = guest_msr_l1_supported(&why);
	return on;
}

static bool input_l2(const struct me_input *x)
{
	return x->l2 && me_l2_on();
}

static enum msr_path op_path(const struct me_input *x, const struct me_op *o)
{
	if (input_l2(x))
		return MSR_PATH_L2;
	return o->fep && me_fep_on() ? MSR_PATH_FORCED_EMULATION : MSR_PATH_NATIVE;
}

/* ---- encoding (seeds): the inverse of decode() ------------------------------ */

struct me_seed_range {
	__u32 flags;		/* R, W or R|W */
	__u32 base, nmsrs;	/* nmsrs 1..2048 */
	__u8 pattern;
};

/* Whether the ops of the seed being written carry xb (put_mask()'s @extra). */
static bool put_xb;

/* The first byte; me_emit() writes each seed again with ME_CPUID_PRESENT. */
static void put_mask_x(struct fuzz_out *o, __u64 mask, bool bad, __u64 args0, __u32 flags,
		       bool extra)
{
	put_xb = extra;
	fuzz_put_u8(o, (mask & 7) | (bad ? 0x08 : 0) | (bad && flags ? 0x10 : 0) |
		    (extra ? ME_OP_EXTRA : 0));
	if (bad) {
		fuzz_put_u64(o, args0);
		if (flags)
			fuzz_put_u32(o, flags);
	}
}

static void put_mask(struct fuzz_out *o, __u64 mask, bool bad, __u64 args0, __u32 flags)
{
	put_mask_x(o, mask, bad, args0, flags, false);
}

static void put_filter(struct fuzz_out *o, bool deny, unsigned int n,
		       const struct me_seed_range *r, enum me_twist twist, __u8 tb)
{
	unsigned int i;

	fuzz_put_u8(o, n | (deny ? 8 : 0) | (twist ? (twist + 8) << 4 : 0));
	if (twist)
		fuzz_put_u8(o, tb);
	for (i = 0; i < n; i++) {
		__u32 n1 = r[i].nmsrs - 1;
		__u8 fl = r[i].flags == KVM_MSR_FILTER_READ ? 1 :
			  r[i].flags == KVM_MSR_FILTER_WRITE ? 2 : 0;

		fuzz_put_u8(o, fl | ME_RAW_BASE_SEL << 2);
		fuzz_put_u32(o, r[i].base);
		fuzz_put_u8(o, (n1 >> 8) << 5);
		fuzz_put_u8(o, n1 & 0xff);
		fuzz_put_u8(o, r[i].pattern);
	}
}

static void put_op(struct fuzz_out *o, const struct me_op *op)
{
	static const __u8 vk[] = { [MSR_VALUE_VALID] = 0, [MSR_VALUE_RESERVED_HIGH] = 3, [MSR_VALUE_RESERVED_LOW] = 4,
				   [MSR_VALUE_NON_CANONICAL] = 5, [MSR_VALUE_PAT_TYPE] = 6, [MSR_VALUE_RAW] = 7 };
	static const __u8 re[] = { [MSR_REENTRY_PLAIN] = 0, [MSR_REENTRY_IMMEDIATE_EXIT] = 2, [MSR_REENTRY_SIGNAL] = 3 };
	__u8 s = op->sel == SEL_CATALOG ? 0 : op->sel == SEL_X2APIC ? 2 : 3;

	fuzz_put_u8(o, op->write | s << 1 | vk[op->vkind] << 3 | re[op->reentry] << 6);
	if (op->sel == SEL_CATALOG)
		fuzz_put_u8(o, msr_catalog_table_find(op->index) - msr_catalog_table);
	else if (op->sel == SEL_X2APIC)
		fuzz_put_u8(o, op->index - MSR_MODEL_X2APIC_FIRST);
	else
		fuzz_put_u32(o, op->index);
	if (op->write)
		fuzz_put_u64(o, op->param);
	fuzz_put_u64(o, op->data);
	fuzz_put_u8(o, op->error);
	fuzz_put_u8(o, op->scribble);
	if (put_xb)
		fuzz_put_u8(o, (op->fep || op->l1 ? ME_XB_FEP : 0) | op->insn << 1);
}

/* ---- VMs ---------------------------------------------------------------- */

/* A VM of the pool, and what KVM holds as far as the model knows. */
struct me_vm {
	bool live, dead;
	pid_t owner;
	uint64_t uses;
	struct msr_vm m;
	__u32 restorable;		/* catalog entries KVM_GET_MSRS reads, host-writable */
	__u64 init[MSR_CATALOG_SIZE];	/* their values at creation: every input starts here */
	bool mask_known;
	__u64 mask;
	bool spec_known;		/* spec is KVM's filter */
	bool never_installed;
	struct me_fspec spec;
	struct msr_model_filter_state fstate;
	struct msr_side_effect_state se;	/* loaded at creation */
};

#define ME_L2_POOL	MSR_CPUID_STATES	/* the pool after the CPUID states': L2 inputs */
#define ME_VMS	((MSR_CPUID_STATES + 1) * ME_VM_POOL)

static struct me_vm vms[ME_VMS];	/* ME_VM_POOL per guest CPUID state, and for L2 */

static void me_vm_create(struct me_vm *vm, enum msr_cpuid_state cpuid, bool l2)
{
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	if (l2) {
		/* L2 inputs run RDMSR/WRMSR only: no side-effect values. */
		msr_vm_create_l2(&vm->m, msr_image_pages());
	} else {
		msr_vm_create(&vm->m, cpuid, msr_image_pages());
		/* Side-effect instructions' MSRs (and EFER.SCE): initial values of every input. */
		guest_msr_side_effect_values(&vm->se);
		guest_msr_side_effect_load(&vm->m.g, &vm->se);
	}
	msr_vcpu_model_from_host(&vm->m.model, &vm->m.host, vm->m.g.vcpu);
	vm->restorable = msr_vm_read(&vm->m, vm->init);
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		if (!vm->m.catalog.entries[i].probe.host_writable)
			vm->restorable &= ~(1u << i);
	msr_case_reentry_vcpu(vm->m.g.vcpu);
	msr_model_filter_state_init(&vm->fstate);
	vm->mask_known = true;		/* 0 until KVM_ENABLE_CAP */
	vm->spec_known = true;
	vm->never_installed = true;
	vm->owner = getpid();
	vm->live = true;
}

static void me_vm_free(struct me_vm *vm)
{
	if (vm->live && vm->owner == getpid())
		msr_vm_free(&vm->m);
	vm->live = false;
}

static void me_reset(void)
{
	unsigned int i;

	/* The parent's VMs: not ours to free (the fds belong to it). */
	for (i = 0; i < ME_VMS; i++)
		vms[i].live = false;
}

static void me_fini(void)
{
	unsigned int i;

	for (i = 0; i < ME_VMS; i++)
		me_vm_free(&vms[i]);
}

/* ---- the per-input state ---------------------------------------------------- */

static struct {
	struct me_vm *vm;
	struct me_input x;
	struct msr_case c[ME_MAX_OPS];
	enum msr_value_kind vkind[ME_MAX_OPS];	/* after demotions */
	__u64 cur[MSR_CATALOG_SIZE];	/* the model's MSR values */
	__u32 written;			/* catalog entries (bits) */
	__u32 stored;			/* ... the model says KVM stored */
	bool checking;
} st;

/* Report a difference once per input; afterwards nothing is checked. */
static void diverge(const char *sig, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diverge(const char *sig, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!st.checking)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st.checking = false;
	fuzz_divergence(sig, "%s", msg);
}

/* ---- mask and filter ---------------------------------------------------- */

static void set_cap(struct me_vm *vm, __u64 args0, __u32 flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR, .flags = flags, .args = { args0 },
	};
	struct msr_verdict v = msr_model_cap_user_space_msr(args0, flags);
	int err = ioctl(vm->m.g.vm->fd, KVM_ENABLE_CAP, &cap) ? errno : 0;

	fuzz_stats.ioctls++;
	fuzz_feedback(fuzz_key(TAG_CAP, v.rule, err, 0));
	if (err != v.err) {
		vm->mask_known = false;
		diverge("none.cap.errno",
			"KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, args[0] %#llx, flags %#x): "
			"expected errno %d (rule %s: %s), actual %d (%s)",
			(unsigned long long)args0, flags, v.err, msr_rule_name(v.rule),
			msr_rule_citation(v.rule), err, strerror(err));
		return;
	}
	if (!err)
		vm->mask = args0;
}

/* Build @s as a KVM_X86_SET_MSR_FILTER argument; range i's bitmap in slot i. */
static void build_filter(const struct me_fspec *s, struct kvm_msr_filter *kf)
{
	unsigned int i;

	memset(kf, 0, sizeof(*kf));
	kf->flags = s->flags;
	for (i = 0; i < s->nranges; i++) {
		const struct me_range *r = &s->r[i];
		struct fuzz_bitmap b = { .place = r->place, .arg = r->arg, .pattern = r->pattern };

		kf->ranges[i] = (struct kvm_msr_filter_range){
			.flags = r->flags, .base = r->base, .nmsrs = r->nmsrs,
			.bitmap = (__u8 *)(uintptr_t)fuzz_bitmap_place(i, r->nmsrs, &b),
		};
	}
}

static void describe_fspec(FILE *out, const char *what, const struct me_fspec *s)
{
	unsigned int i;

	fprintf(out, "    %s: flags %#x, %u range slots\n", what, s->flags, s->nranges);
	for (i = 0; i < s->nranges; i++)
		fprintf(out, "      [%u] flags %#x base %#x nmsrs %#x bitmap bytes %#04x, %s %u\n", i,
			s->r[i].flags, s->r[i].base, s->r[i].nmsrs, s->r[i].pattern,
			fuzz_place_names[s->r[i].place], s->r[i].arg);
}

/* Returns false if the install diverged; the model's state follows an accepted one. */
static bool install(struct me_vm *vm, const struct me_fspec *s, bool *refused)
{
	struct msr_model_mem_region regions[FUZZ_BITMAP_SLOTS];
	struct msr_model_mem mem;
	struct kvm_msr_filter kf;
	struct msr_verdict v;
	int err;

	build_filter(s, &kf);
	fuzz_bitmap_mem(regions, &mem);
	v = msr_model_filter_install(&vm->fstate, &kf, &mem);	/* unchanged on error */
	err = -fuzz_set_msr_filter(vm->m.g.vm, &kf, &vm->m.last_install_end_ns);
	fuzz_feedback(fuzz_key(TAG_FILTER, v.rule, err, v.range + 1));
	*refused = v.err;
	if (err != v.err) {
		vm->spec_known = false;
		diverge("none.filter.errno",
			"KVM_X86_SET_MSR_FILTER(flags %#x, %u range slots; see the decoded input): "
			"expected errno %d (rule %s, range %d: %s), actual %d (%s)",
			s->flags, s->nranges, v.err, msr_rule_name(v.rule), v.range,
			msr_rule_citation(v.rule), err, strerror(err));
		return false;
	}
	if (!err) {
		vm->spec = *s;
		vm->spec_known = true;
		vm->never_installed = false;
	}
	return true;
}

/* ---- the cases ------------------------------------------------------------------ */

static struct msr_case_answer answer_of(const struct me_op *in)
{
	return (struct msr_case_answer){
		.error = in->error, .data = in->data, .reentry = in->reentry,
		.index_xor = in->scribble & 1 ? ~(__u32)in->scribble : 0,
		.scribble_reason = in->scribble & 2, .reason = ME_SCRIBBLE_REASON | in->scribble,
		.scribble_pad = in->scribble & 4, .pad = 0xff ^ in->scribble,
	};
}

static bool stored_earlier(const struct me_vm *vm, __u32 index)
{
	const struct msr_catalog_entry *e = msr_catalog_find(&vm->m.catalog, index);

	return e && (st.stored & (1u << (e - vm->m.catalog.entries)));
}

/*
 * Op @in as its side-effect instruction, predicted by the engine; false
 * (the decoded RDMSR/WRMSR instead) where the model says KVM cannot
 * complete it or does not predict it here, or an earlier op stored an MSR
 * it reads or EFER (the values would no longer be the VM's vm->se).
 */
static bool predict_insn(const struct me_vm *vm, const struct msr_case_setting *set,
			 const struct me_op *in, struct msr_case *c)
{
	struct msr_facts f;
	unsigned int i;

	*c = (struct msr_case){
		.insn = in->insn, .index = msr_insn_msr(in->insn), .access = MSR_RDMSR,
		.path = op_path(&st.x, in), .answer = answer_of(in),
	};
	c->entry = msr_catalog_pos(&vm->m.catalog, c->index);
	msr_facts_init(&f, c->index);	/* unused: the rule decides */
	msr_case_predict(set, c, &f);
	if (!c->se.runs || stored_earlier(vm, MSR_CAT_EFER))
		return false;
	for (i = 0; i < c->se.nmsrs; i++)
		if (stored_earlier(vm, c->se.msrs[i]))
			return false;
	return true;
}

/* Op @in as a case: its value from the decoded kind, its answer. */
static void predict_op(const struct me_vm *vm, const struct msr_case_setting *set,
		       const struct me_op *in, struct msr_case *c, enum msr_value_kind *vkind)
{
	const struct msr_catalog_entry *e = msr_catalog_find(&vm->m.catalog, in->index);
	struct msr_facts f;

	*vkind = MSR_VALUE_VALID;
	if (in->insn != MSR_INSN_ACCESS && predict_insn(vm, set, in, c))
		return;
	*c = (struct msr_case){
		.index = in->index, .access = in->write ? MSR_WRMSR : MSR_RDMSR,
		.entry = e ? (int)(e - vm->m.catalog.entries) : -1,
		.path = op_path(&st.x, in), .answer = answer_of(in),
		.l1_intercept = in->l1 && input_l2(&st.x),
	};
	*vkind = in->vkind;
	if (e)
		msr_case_facts(&vm->m.catalog, &vm->m.model, st.cur, vm->restorable, c->entry,
			       c->path, &f);
	if (c->access == MSR_WRMSR) {
		if (!e)	/* x2APIC: any value fails; raw: demoted unless the filter denies it */
			c->value = in->index >= MSR_MODEL_X2APIC_FIRST &&
				   in->index <= MSR_MODEL_X2APIC_LAST && in->vkind != MSR_VALUE_RAW ?
				   (__u32)msr_mix(in->param) : in->param;
		else if (!msr_value_for(*vkind, in->index, st.cur[c->entry], &f, in->param,
					MSR_VALUES_FUZZ, &c->value))
			msr_value_for(*vkind = MSR_VALUE_VALID, in->index, st.cur[c->entry], &f,
				      in->param, MSR_VALUES_FUZZ, &c->value);
	}
	msr_case_predict(set, c, &f);
	if (e && c->access == MSR_WRMSR && *vkind == MSR_VALUE_RAW &&
	    c->first.result == MSR_RESULT_DONE && c->first.stored) {
		/* A raw value the model would store: only a safe one. */
		msr_value_for(*vkind = MSR_VALUE_VALID, in->index, st.cur[c->entry], &f, in->param,
			      MSR_VALUES_FUZZ, &c->value);
		msr_case_predict(set, c, &f);
	}
	if (e && c->access == MSR_WRMSR) {
		st.written |= 1u << c->entry;
		if (c->first.result == MSR_RESULT_DONE && c->first.stored) {
			st.cur[c->entry] = c->first.data;
			st.stored |= 1u << c->entry;
		}
	}
}

/* Feedback at each exit, after the answer: the completion the model predicts. */
static void answered(struct msr_case_run *b, unsigned int i, struct kvm_run *run)
{
	const struct msr_case *c = &b->c[i];

	(void)run;
	fuzz_feedback(fuzz_key(TAG_COMPLETE, c->final.rule, c->answer.reentry,
			       (c->answer.error ? 1 : 0) | (st.x.ops[i].scribble & 7) << 1 |
			       c->access << 4));
}

/* The first failing check of op @i, reported. */
static void check_op(const struct msr_case_setting *set, unsigned int i)
{
	const struct msr_case *c = &st.c[i];
	struct msr_case_verdict v;
	char what[600];

	if (!c->ran)
		return;
	if (!c->full && !c->exits)
		fuzz_feedback(fuzz_key(TAG_RAW, c->r.vector, c->r.retired, c->access));
	if (c->exits && c->answer.reentry != MSR_REENTRY_PLAIN)
		fuzz_feedback(fuzz_key(TAG_REENTRY, c->answer.reentry, c->reentry_errno,
				       c->reentry_vector));
	v = msr_case_check(set, c);
	if (!st.checking || !v.failed)
		return;
	st.checking = false;
	snprintf(what, sizeof(what), "op %u: exit mask %#llx%s%s", i, (unsigned long long)set->mask,
		 c->access == MSR_WRMSR ? ", " : "",
		 c->access == MSR_WRMSR ? msr_value_kind_name(st.vkind[i]) : "");
	fuzz_case_diverged(c, msr_case_first(&v), what);
}

/* Run the ops as one program, check them in order. */
static void run_ops(const struct msr_case_setting *set)
{
	struct me_vm *vm = st.vm;
	struct msr_case_run b = {
		.g = &vm->m.g, .c = st.c, .n = st.x.nops, .vcpu_run = fuzz_vcpu_run,
		.vcpu_run_once = fuzz_vcpu_run, .on_exit = answered,
	};
	char run[512];
	unsigned int i;

	msr_case_run(&b);
	fuzz_stats.exits += b.exits;
	for (i = 0; i < b.n; i++)
		check_op(set, i);
	vm->dead = b.end != MSR_RUN_OK;
	if (!msr_case_run_clean(&b, run, sizeof(run)))
		diverge("none.program.run", "%s", run);
}

/*
 * The catalog MSRs the input wrote: KVM_GET_MSRS against the model (every
 * input in replay mode, every ME_READBACK_EVERY-th VM use while fuzzing),
 * then KVM_SET_MSRS of them all back to the VM's initial values, whatever
 * KVM did: the next input starts from the same state either way.
 */
static void readback_and_restore(bool verify)
{
	struct msr_vm *m = &st.vm->m;
	__u32 which = st.written & st.vm->restorable, bad;
	__u64 got[MSR_CATALOG_SIZE];
	char sig[FUZZ_SIG_LEN];
	int ret;

	if (!which)
		return;
	if (verify) {
		fuzz_stats.ioctls++;
		bad = msr_case_readback(m->g.vcpu->fd, &m->catalog, which, st.cur, got, &ret);
		FUZZ_HARNESS_ASSERT(ret == __builtin_popcount(which),
				    "KVM_GET_MSRS of %u MSRs the probe read returned %d",
				    __builtin_popcount(which), ret);
		if (bad) {
			unsigned int e = __builtin_ctz(bad);

			diverge(fuzz_sig(sig, sizeof(sig), m->catalog.entries[e].index, "wrmsr",
					 "readback"), "after the program KVM_GET_MSRS(%s) = %#llx, "
				"model %#llx (initial value %#llx; see the decoded input for the "
				"WRMSRs)", m->catalog.entries[e].name, (unsigned long long)got[e],
				(unsigned long long)st.cur[e], (unsigned long long)st.vm->init[e]);
		}
	}
	fuzz_stats.ioctls++;
	if (!msr_case_restore(m->g.vcpu->fd, &m->catalog, which, st.vm->init))
		st.vm->dead = true;	/* cannot restore: a fresh VM next time */
}

/*
 * Among the VMs of pool @pool_nr (a guest CPUID state, or ME_L2_POOL): the one that already holds
 * filter @f (no install), else the one whose last install is the oldest
 * (an install right after another on the same VM takes milliseconds).
 * Which of them runs an input changes nothing the model sees: every VM
 * starts each input from the same MSR state, and mask and filter are set
 * as the input says.
 */
static struct me_vm *pick_vm(unsigned int pool_nr, const struct me_fspec *f)
{
	struct me_vm *pool = &vms[pool_nr * ME_VM_POOL], *oldest = &pool[0];
	unsigned int i;

	for (i = 0; i < ME_VM_POOL; i++) {
		struct me_vm *vm = &pool[i];

		if (vm->live && !vm->dead && vm->spec_known && !vm->never_installed &&
		    !memcmp(&vm->spec, f, sizeof(*f)))
			return vm;
		if (!vm->live)
			return vm;
		if (vm->m.last_install_end_ns < oldest->m.last_install_end_ns)
			oldest = vm;
	}
	return oldest;
}

static void me_one(const uint8_t *data, size_t size)
{
	struct me_input *x = &st.x;
	struct msr_case_setting set;
	bool refused = false;
	struct me_vm *vm;
	unsigned int i;

	decode(data, size, x);
	vm = pick_vm(input_l2(x) ? ME_L2_POOL : x->cpuid, &x->f);
	if (vm->live && vm->dead)
		me_vm_free(vm);
	if (!vm->live)
		me_vm_create(vm, x->cpuid, input_l2(x));
	st.vm = vm;
	/* Known divergences are matched in this VM's setting (guest CPUID...). */
	fuzz_set_case(&vm->m.model);
	st.checking = true;
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		st.cur[i] = vm->restorable & (1u << i) ? vm->init[i] : 0;
	st.written = 0;
	st.stored = 0;

	if (!vm->mask_known || vm->mask != x->mask)
		set_cap(vm, x->mask, 0);
	if (x->bad_cap && st.checking)
		set_cap(vm, x->bad_args0, x->bad_flags);
	if (st.checking && (!vm->spec_known || vm->never_installed ||
			    memcmp(&vm->spec, &x->f, sizeof(x->f))))
		install(vm, &x->f, &refused);
	if (x->twist && st.checking)
		install(vm, &x->ft, &refused);
	if (!st.checking || !x->nops)
		return;

	set = (struct msr_case_setting){ &vm->fstate, vm->mask, &vm->m.model, refused, &vm->se };
	for (i = 0; i < x->nops; i++) {
		const struct msr_case *c = &st.c[i];

		predict_op(vm, &set, &x->ops[i], &st.c[i], &st.vkind[i]);
		if (c->insn != MSR_INSN_ACCESS)
			fuzz_feedback(fuzz_key(TAG_INSN, c->insn, c->path, c->se.rule));
		if (c->path == MSR_PATH_L2)
			fuzz_feedback(fuzz_key(TAG_L1, c->l1_intercept | c->l1_exit << 1 | c->access << 2,
					       c->first.rule, c->first.msr.reason));
		fuzz_feedback(fuzz_key(TAG_OP, c->full ? c->first.cause : 0x100 | c->fv.rule,
				       c->full ? c->first.rule : c->kind,
				       c->access | c->first.msr.reason << 1 | st.vkind[i] << 4));
	}
	fuzz_stats.guest_ops += x->nops;
	run_ops(&set);
	if (!vm->dead)
		readback_and_restore(st.checking && (fuzz_replay_mode ||
						     !(++vm->uses % ME_READBACK_EVERY)));
	else
		me_vm_free(vm);
}

/* ---- describe ------------------------------------------------------------------ */

static void me_describe(const uint8_t *data, size_t size, FILE *out)
{
	static struct me_input x;
	char cpuid[400];
	unsigned int i;

	decode(data, size, &x);
	msr_cpuid_state_describe(cpuid, sizeof(cpuid), input_l2(&x) ? MSR_CPUID_PRESENT : x.cpuid);
	fprintf(out, "    guest CPUID %s\n", cpuid);
	if (x.l2)
		fprintf(out, "    as L2 under the suite's L1: %s\n", me_l2_on() ?
			"yes (nested SVM/VMX here)" : "asked, but this host has no nested SVM/VMX: as L1");
	fprintf(out, "    exit mask %#llx", (unsigned long long)x.mask);
	if (x.bad_cap)
		fprintf(out, ", then KVM_ENABLE_CAP args[0] %#llx flags %#x",
			(unsigned long long)x.bad_args0, x.bad_flags);
	fprintf(out, "\n");
	describe_fspec(out, "filter", &x.f);
	if (x.twist) {
		fprintf(out, "    then twist %s (tb %#x):\n", twist_names[x.twist], x.tb);
		describe_fspec(out, "filter'", &x.ft);
	}
	for (i = 0; i < x.nops; i++) {
		const struct me_op *o = &x.ops[i];

		fprintf(out, "    op %u: %s %s (%#x, %s)", i, o->write ? "WRMSR" : "RDMSR",
			msr_name(o->index), o->index,
			o->sel == SEL_CATALOG ? "catalog" : o->sel == SEL_X2APIC ? "x2APIC" : "raw");
		if (o->write)
			fprintf(out, " value %s param %#llx", msr_value_kind_name(o->vkind),
				(unsigned long long)o->param);
		fprintf(out, "; on exit: data %#llx error %#x scribble%s%s%s%s, re-entry %s\n",
			(unsigned long long)o->data, o->error, o->scribble & 1 ? " index" : "",
			o->scribble & 2 ? " reason" : "", o->scribble & 4 ? " pad" : "",
			o->scribble & 7 ? "" : " none", msr_reentry_name(o->reentry));
		if (x.extra && o->insn != MSR_INSN_ACCESS)
			fprintf(out, "      xb: instead %s (case %s), %s; the RDMSR/WRMSR above where "
				"the model has KVM not complete it here or an earlier op stored "
				"its MSRs\n", msr_insn_name(o->insn), msr_name(msr_insn_msr(o->insn)),
				msr_path_name(op_path(&x, o)));
		if (input_l2(&x))
			fprintf(out, "      L1's map %s it\n", o->l1 ? "intercepts" : "passes through");
		if (x.extra && o->fep)
			fprintf(out, "      xb: forced emulation asked: kvm.force_emulation_prefix %s\n",
				me_fep_on() ? "on, emulated" : "off, runs natively");
	}
	if (st.vm && st.vm->live && st.vm->m.cpuid == x.cpuid)
		fprintf(out, "    (the VM: %s backend, vendor %s, guest CPUID %s, guest features "
			"%#x, %s)\n", st.vm->m.host.backend,
			st.vm->m.model.vendor == MSR_VENDOR_INTEL ? "Intel" : "AMD",
			msr_cpuid_state_name(st.vm->m.cpuid), st.vm->m.model.guest_features,
			st.vm->m.model.x2apic_mode ? "x2APIC" : "xAPIC");
}

/* ---- seeds ------------------------------------------------------------------- */

/*
 * Every seed in both guest CPUID states: as built (absent), and again with
 * ME_CPUID_PRESENT in its first byte as "<name>_cpuid" (the present state
 * decides what the catalog's IBPB, FLUSH_L1D, ARCH_CAPABILITIES, TSC_AUX
 * and EFER bits do).
 */
static void me_emit(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	fuzz_emit_cpuid_states(e, name, o, 0, ME_CPUID_PRESENT);
}

/* Spec @sp as seed ranges (at most ME_DECODED_RANGES) and the twist it needs. */
static unsigned int spec_ranges(const struct msr_filter_spec *sp, struct me_seed_range *rs,
				enum me_twist *tw)
{
	unsigned int k, n = 0;

	*tw = TW_NONE;
	for (k = 0; k < sp->nranges && n < ME_DECODED_RANGES; k++) {
		if (sp->ranges[k].flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK) {
			*tw = TW_RANGE_FLAGS;
			continue;
		}
		rs[n++] = (struct me_seed_range){ sp->ranges[k].flags ?
			sp->ranges[k].flags : KVM_MSR_FILTER_READ,
			sp->ranges[k].base, sp->ranges[k].nmsrs ?
			(sp->ranges[k].nmsrs > 2048 ? 2048 : sp->ranges[k].nmsrs) : 1,
			sp->ranges[k].pattern };
	}
	if ((sp->flags & KVM_MSR_FILTER_DEFAULT_DENY) && !n)
		*tw = TW_DENY_EMPTY;
	return n;
}

/*
 * Side-effect instructions (xb): under each side-effect filter layout
 * (they deny every MSR the instructions read) and exit mask @mask, each
 * instruction natively and with the forced emulation prefix, then RDMSR
 * and WRMSR of its MSR, still filtered; RDTSC and SYSENTER with RDMSR and
 * WRMSR of TSC and SYSENTER_CS/ESP/EIP, which the catalog does not have
 * (raw ops: the filter's part predicted, an allowed WRMSR demoted).
 */
static void me_seeds_side_effect(struct fuzz_emit *e)
{
	/* IA32_TSC, IA32_SYSENTER_CS/ESP/EIP */
	static const __u32 raw_msrs[] = { 0x10, 0x174, 0x175, 0x176 };
	static struct fuzz_out o;
	struct me_seed_range rs[MSR_SPEC_MAX_RANGES];
	unsigned int t, k, n;
	enum me_twist tw;
	struct me_op op;
	char name[96];

	for (t = 0; t < 2 * MSR_SIDE_EFFECT_FILTER_SPECS; t++) {
		const struct msr_filter_spec *sp = &msr_side_effect_filter_specs[t];

		n = spec_ranges(sp, rs, &tw);
		o.n = 0;
		put_mask_x(&o, t * 3 % 8, false, 0, 0, true);
		put_filter(&o, sp->flags & KVM_MSR_FILTER_DEFAULT_DENY, n, rs, tw, 0);
		for (k = MSR_INSN_ACCESS + 1; k < MSR_INSNS; k++) {
			op = (struct me_op){ .sel = SEL_CATALOG, .index = MSR_CAT_EFER,
					     .insn = (enum msr_insn)k, .data = k };
			put_op(&o, &op);
			op.fep = true;
			put_op(&o, &op);
		}
		for (k = MSR_INSN_ACCESS + 1; k < MSR_INSNS; k++) {
			__u32 idx = msr_insn_msr((enum msr_insn)k);

			if (!msr_catalog_table_find(idx))
				continue;
			op = (struct me_op){ .write = k & 1, .sel = SEL_CATALOG, .index = idx,
					     .fep = k & 2, .param = k, .data = ~0ull - k,
					     .error = k & 1, .scribble = k };
			put_op(&o, &op);
		}
		snprintf(name, sizeof(name), "insn_%s_mask_%u", sp->name, t * 3 % 8);
		me_emit(e, name, &o);
		/*
		 * The MSRs outside the catalog (TSC, SYSENTER_*): RDTSC and
		 * SYSENTER with and without the prefix, then RDMSR and WRMSR of
		 * each as raw ops (the filter's part predicted), in one program.
		 */
		o.n = 0;
		put_mask_x(&o, (t * 3 + 1) % 8, false, 0, 0, true);
		put_filter(&o, sp->flags & KVM_MSR_FILTER_DEFAULT_DENY, n, rs, tw, 0);
		for (k = 0; k < 4; k++) {
			op = (struct me_op){ .sel = SEL_CATALOG, .index = MSR_CAT_EFER,
					     .insn = k & 2 ? MSR_INSN_SYSENTER : MSR_INSN_RDTSC,
					     .fep = k & 1, .data = k };
			put_op(&o, &op);
		}
		for (k = 0; k < 2 * sizeof(raw_msrs) / sizeof(raw_msrs[0]); k++) {
			op = (struct me_op){ .write = k & 1, .sel = SEL_RAW, .index = raw_msrs[k / 2],
					     .param = k, .data = ~0ull - k, .error = k & 1 };
			put_op(&o, &op);
		}
		snprintf(name, sizeof(name), "insn_raw_%s_mask_%u", sp->name, (t * 3 + 1) % 8);
		me_emit(e, name, &o);
	}
	/* One instruction per seed (its own signature), its MSRs denied. */
	n = spec_ranges(&msr_side_effect_filter_specs[0], rs, &tw);
	for (k = MSR_INSN_ACCESS + 1; k < MSR_INSNS; k++) {
		o.n = 0;
		put_mask_x(&o, KVM_MSR_EXIT_REASON_FILTER, false, 0, 0, true);
		put_filter(&o, false, n, rs, tw, 0);
		op = (struct me_op){ .sel = SEL_CATALOG, .index = MSR_CAT_TSC_AUX,
				     .insn = (enum msr_insn)k };
		put_op(&o, &op);
		op.fep = true;
		put_op(&o, &op);
		snprintf(name, sizeof(name), "insn_%s", msr_insn_name((enum msr_insn)k));
		me_emit(e, name, &o);
	}
	put_xb = false;
	for (k = 0; k < 2 * MSR_INSNS; k++) {
		__u8 xb = (k & 1 ? ME_XB_FEP : 0) | (k >> 1) << 1;

		snprintf(name, sizeof(name), "xb_%s%s", msr_insn_name((enum msr_insn)(k >> 1)),
			 k & 1 ? "_fep" : "");
		e->token(e, name, &xb, 1);
	}
}

/*
 * L2 (mb & ME_L2): per catalog MSR a RDMSR and a valid WRMSR, L1's map
 * intercepting one and passing the other through (alternating by MSR),
 * under a range that denies one access type, in DEFAULT_ALLOW or
 * DEFAULT_DENY, each exit mask in turn.  One guest CPUID state: L2 inputs
 * ignore mb & 0x20.
 */
static void me_seeds_l2(struct fuzz_emit *e)
{
	static struct fuzz_out o;
	struct me_seed_range r;
	struct me_op op;
	unsigned int i;
	char name[96];

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &msr_catalog_table[i];

		o.n = 0;
		put_mask_x(&o, i % 8, false, 0, 0, true);
		o.buf[0] |= ME_L2;
		r = (struct me_seed_range){ i & 1 ? KVM_MSR_FILTER_READ : KVM_MSR_FILTER_WRITE,
					    c->index, 1, 0 };
		put_filter(&o, i & 2, 1, &r, TW_NONE, 0);
		op = (struct me_op){ .sel = SEL_CATALOG, .index = c->index,
				     .data = 0x4c32000000000000ull ^ c->index, .error = i % 3 == 0,
				     .l1 = i & 4 };
		put_op(&o, &op);
		op = (struct me_op){ .write = true, .sel = SEL_CATALOG, .index = c->index,
				     .param = i, .data = ~0ull ^ i, .error = i & 1, .l1 = !(i & 4) };
		put_op(&o, &op);
		snprintf(name, sizeof(name), "l2_%s", c->name);
		fuzz_emit_seed(e, name, &o);
	}
	put_xb = false;
}

static void me_seeds(struct fuzz_emit *e)
{
	static const __u8 errors[] = { 0, 1, 0xff };
	static const enum msr_value_kind kinds[] = { MSR_VALUE_VALID, MSR_VALUE_RESERVED_HIGH, MSR_VALUE_RESERVED_LOW, MSR_VALUE_NON_CANONICAL, MSR_VALUE_PAT_TYPE,
					       MSR_VALUE_RAW };
	const struct msr_filter_spec *specs[2] = { msr_compat_filter_specs,
						   msr_semantic_filter_specs };
	const unsigned int nspecs[2] = {
		sizeof(msr_compat_filter_specs) / sizeof(msr_compat_filter_specs[0]),
		sizeof(msr_semantic_filter_specs) / sizeof(msr_semantic_filter_specs[0]),
	};
	static const __u32 probes[] = { 0x3, 0x7ff, 0x900, 0xdeadbeef, 0xffffffff, MSR_CAT_EFER };
	static struct fuzz_out o;
	struct me_seed_range r;
	struct me_op op;
	unsigned int i, k, s, t;
	char name[96];

	/* Per catalog MSR: RDMSR and WRMSR of each value kind, mask all, a range on it. */
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &msr_catalog_table[i];

		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
		r = (struct me_seed_range){ KVM_MSR_FILTER_WRITE, c->index, 1, i & 1 ? 0xff : 0 };
		put_filter(&o, false, 1, &r, TW_NONE, 0);
		op = (struct me_op){ .sel = SEL_CATALOG, .index = c->index,
					  .data = 0x1122334455667788ull ^ c->index,
					  .error = errors[i % 3], .scribble = i & 7 };
		put_op(&o, &op);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			op.write = true;
			op.vkind = kinds[k];
			op.param = 0x8000000000000000ull >> (k * 9) | c->index;
			op.error = errors[(i + k) % 3];
			op.reentry = (enum msr_reentry)((i + k) % 3);
			put_op(&o, &op);
		}
		snprintf(name, sizeof(name), "cat_%s", c->name);
		me_emit(e, name, &o);
	}

	/* The suite's filter specs, probed on their indices, each exit mask. */
	for (s = 0; s < 2; s++)
		for (t = 0; t < nspecs[s]; t++) {
			const struct msr_filter_spec *sp = &specs[s][t];
			struct me_seed_range rs[MSR_SPEC_MAX_RANGES];
			enum me_twist tw;
			unsigned int n = spec_ranges(sp, rs, &tw);
			__u8 tb = 0;

			o.n = 0;
			put_mask(&o, (t + s) % 8, false, 0, 0);
			put_filter(&o, sp->flags & KVM_MSR_FILTER_DEFAULT_DENY, n, rs, tw, tb);
			for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
				op = (struct me_op){ .write = k & 1, .sel = SEL_CATALOG,
							  .index = probes[k], .param = k,
							  .data = ~0ull - k, .error = errors[k % 3],
							  .scribble = 7 };
				put_op(&o, &op);
			}
			snprintf(name, sizeof(name), "spec_%s", sp->name);
			me_emit(e, name, &o);
		}

	/* The protocol: an UNKNOWN exit answered every way, each re-entry. */
	for (k = 0; k < 3; k++) {
		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_UNKNOWN, false, 0, 0);
		put_filter(&o, false, 0, NULL, TW_NONE, 0);
		for (i = 0; i < 6; i++) {
			op = (struct me_op){ .write = i & 1, .sel = SEL_CATALOG,
						  .index = 0xdeadbeef, .param = 0x1122334455667788ull,
						  .reentry = (enum msr_reentry)k,
						  .data = 0xfedcba9876543210ull + i,
						  .error = errors[i / 2], .scribble = i * 3 };
			put_op(&o, &op);
		}
		snprintf(name, sizeof(name), "protocol_%s", k == MSR_REENTRY_PLAIN ? "plain" :
			 k == MSR_REENTRY_IMMEDIATE_EXIT ? "immediate_exit" : "signal");
		me_emit(e, name, &o);
	}

	/* Invalid masks and cap flags; the exit mask boundaries. */
	for (k = 0; k < 4; k++) {
		static const __u64 bad[] = { 8, 1ull << 63, KVM_MSR_EXIT_REASON_VALID_MASK, 0 };

		o.n = 0;
		put_mask(&o, k + 1, true, bad[k], k >= 2 ? 1u << k : 0);
		put_filter(&o, false, 0, NULL, TW_NONE, 0);
		op = (struct me_op){ .sel = SEL_CATALOG, .index = 0x3, .data = k };
		put_op(&o, &op);
		snprintf(name, sizeof(name), "cap_%u", k);
		me_emit(e, name, &o);
	}

	/* Each twist after a deny-default filter around 0xdeadbeef. */
	for (k = TW_FILTER_FLAGS; k <= TW_EMPTY_SKIPPED; k++) {
		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
		r = (struct me_seed_range){ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					    0xdeadbee8, 16, 0x55 };
		put_filter(&o, true, 1, &r, (enum me_twist)k, k * 37);
		op = (struct me_op){ .sel = SEL_CATALOG, .index = 0xdeadbeef, .data = k };
		put_op(&o, &op);
		op = (struct me_op){ .write = true, .sel = SEL_CATALOG, .index = 0x7ff,
					  .error = 1 };
		put_op(&o, &op);
		snprintf(name, sizeof(name), "twist_%s", twist_names[k]);
		me_emit(e, name, &o);
	}

	/* x2APIC and raw indices, filtered and not. */
	o.n = 0;
	put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
	r = (struct me_seed_range){ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 0x7f0, 0x120, 0 };
	put_filter(&o, false, 1, &r, TW_NONE, 0);
	op = (struct me_op){ .sel = SEL_X2APIC, .index = 0x830, .data = 1 };
	put_op(&o, &op);
	op = (struct me_op){ .write = true, .sel = SEL_X2APIC, .index = 0x80b, .error = 1 };
	put_op(&o, &op);
	op = (struct me_op){ .write = true, .sel = SEL_RAW, .index = 0x7f5, .param = 3 };
	put_op(&o, &op);
	op = (struct me_op){ .sel = SEL_RAW, .index = 0x10, .data = 2 };
	put_op(&o, &op);
	op = (struct me_op){ .write = true, .sel = SEL_RAW, .index = 0x4b564d00, .data = 2 };
	put_op(&o, &op);
	me_emit(e, "x2apic_and_raw", &o);

	/* The typical input: mask, one range, two ops. */
	o.n = 0;
	put_mask(&o, KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN, false, 0, 0);
	r = (struct me_seed_range){ KVM_MSR_FILTER_READ, 0x0, 0x10, 0xf7 };
	put_filter(&o, false, 1, &r, TW_NONE, 0);
	op = (struct me_op){ .sel = SEL_CATALOG, .index = 0x3, .data = 0xabcdef };
	put_op(&o, &op);
	op = (struct me_op){ .write = true, .sel = SEL_CATALOG, .index = MSR_CAT_STAR,
				  .param = 0x42 };
	put_op(&o, &op);
	me_emit(e, "typical", &o);

	me_seeds_side_effect(e);
	me_seeds_l2(e);

	fuzz_emit_catalog_tokens(e);
	for (k = 0; k < 2 * 8; k++) {
		__u8 mb = (k & 7) | (k & 8 ? ME_CPUID_PRESENT : 0);

		snprintf(name, sizeof(name), "mask_%u%s", k & 7, k & 8 ? "_cpuid" : "");
		e->token(e, name, &mb, 1);
	}
	o.n = 0;
	op = (struct me_op){ .sel = SEL_CATALOG, .index = 0xdeadbeef };
	put_op(&o, &op);
	e->token(e, "op_rdmsr_unknown", o.buf, 2);
	o.n = 0;
	op = (struct me_op){ .write = true, .sel = SEL_CATALOG, .index = MSR_CAT_CR_PAT,
				  .vkind = MSR_VALUE_PAT_TYPE };
	put_op(&o, &op);
	e->token(e, "op_wrmsr_pat_type", o.buf, 2);
}

const struct fuzz_target fuzz_target_msr_exit = {
	.name = "msr_exit",
	.summary = "exit mask, filter, guest RDMSR/WRMSR and the answers to their exits vs the model",
	.max_len = 512,
	.init = msr_case_reentry_init,
	.reset = me_reset,
	.one = me_one,
	.describe = me_describe,
	.seeds = me_seeds,
	.fini = me_fini,
};

