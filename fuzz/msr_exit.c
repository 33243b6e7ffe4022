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
 *                  those replay as they did).  mb & 0xc0: unused.
 *   u8 fh          filter F: flags = fh & 8 (DEFAULT_DENY), nranges =
 *                  (fh & 7) % 5; t = fh >> 4: t >= 9 is a "twist" (below).
 *   [u8 tb]        only with a twist.
 *   nranges x      rf, [u32 raw if (rf >> 2) >= 44], off, nm, pattern:
 *     flags  {R|W, R, W, R|W}[rf & 3];
 *     base   anchor - (off & 0x1f), anchor = catalog entry (rf >> 2) % 22
 *            or raw (rf >> 2 >= 44);
 *     nmsrs  1 + nm + (off >> 5) * 256 (1..2048);
 *     bitmap every byte = pattern.
 *   ops until the input ends (at most MX_MAX_OPS), each:
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
 *
 * F is always valid (DEFAULT_DENY without ranges is dropped).  A twist is a
 * second install right after F, derived from it, that the model usually
 * rejects (tb picks the details): 9 filter flags, 10 DEFAULT_DENY with only
 * empty ranges, 11 range flags invalid, 12 range flags 0, 13 bitmap too big,
 * 14 bitmap faults (next to a PROT_NONE page, or NULL), 15 an empty range
 * with invalid flags (skipped: accepted).  The guest ops run under whatever
 * the model says is in force: F after a rejected twist, so "a rejected
 * filter leaves the previous one" is checked by every op.
 *
 * Values: "valid" changes only the bits the guest does not depend on
 * (msr_matrix.c's safe bits: EFER.SCE, PAT entry 0 stays WB, canonical
 * bases...); the fault kinds add what the model says faults; raw keeps
 * EFER.LME/LMA/NX and PAT entry 0, and is demoted to valid where the model
 * would store it.  Raw indices (neither catalog nor x2APIC): KVM's handler
 * is unknown to the model, so only what is decidable is checked (a filter
 * denial exits FILTER or #GPs per the model; an allowed access never exits
 * FILTER, exits only with a reason in the mask, with the exit fields KVM
 * must fill; the completion per msr_model_complete_exit()); a raw WRMSR the
 * filter allows is demoted to RDMSR.  x2APIC indices outside the catalog
 * get the catalog's xAPIC-mode facts (lapic.c: every access fails, INVAL).
 *
 * Checks (signature <msr>.<rdmsr|wrmsr>.<check>): exit (an exit where the
 * model has none, none where it has one, a second one), exit_fields
 * (exit_reason, msr.reason/index/data, error 0, pad zero), guest (result of
 * an op that did not exit), completion (the guest's result after the
 * answer; a re-entry KVM_RUN that does not return EINTR or runs the
 * guest), readback (KVM_GET_MSRS of the catalog MSRs the input wrote:
 * every input in replay, every 8th while fuzzing),
 * plus none.cap.errno and none.filter.errno.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "msr_catalog.h"
#include "msr_guest.h"
#include "msr_values.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "msr_probe.h"
#include "msr_filter_specs.h"

#define MX_MAX_OPS		12
#define MX_DECODED_RANGES	4
#define MX_RANGES		(MX_DECODED_RANGES + 4)	/* + a twist range and gaps */
#define MX_RAW_BASE_SEL		44
#define MX_BM_STRIDE		KVM_MSR_FILTER_MAX_BITMAP_SIZE
#define MX_BM_RW		(2 * 4096)		/* readable bitmap area */
#define MX_REENTRY_SIG		(SIGRTMIN + 6)		/* runtime: SIGRTMIN + 3 */
#define MX_SCRIBBLE_REASON	0x80u
#define MX_VM_POOL		4	/* per guest CPUID state */
#define MX_CPUID_PRESENT	0x20	/* mb: the guest CPUID state */
#define MX_READBACK_EVERY	8	/* fuzzing; replay: every input */

/* Feedback tags. */
enum { TAG_CAP = 0xe1, TAG_FILTER, TAG_OP, TAG_COMPLETE, TAG_RAW, TAG_REENTRY };

enum mx_sel { SEL_CATALOG, SEL_X2APIC, SEL_RAW };
enum mx_vkind { V_VALID, V_RES_HIGH, V_RES_LOW, V_NONCANON, V_PAT, V_RAW };
enum mx_reentry { RE_PLAIN, RE_IMMEDIATE, RE_SIGNAL };
enum mx_twist {
	TW_NONE, TW_FILTER_FLAGS, TW_DENY_EMPTY, TW_RANGE_FLAGS, TW_RANGE_ZERO,
	TW_BITMAP_SIZE, TW_BITMAP_FAULT, TW_EMPTY_SKIPPED,
};

static const char *const twist_names[] = {
	"none", "filter flags", "deny with empty ranges", "range flags", "range flags 0",
	"bitmap size", "bitmap fault", "empty range, bad flags",
};
static const char *const vkind_names[] = {
	"valid", "reserved high", "reserved low", "non-canonical", "PAT type", "raw",
};
static const char *const reentry_names[] = { "plain", "immediate_exit", "pending signal" };

/* ---- the decoded input ---------------------------------------------------- */

struct mx_range {
	__u32 flags, base, nmsrs;
	__u8 pattern;
	__u32 bm_off;		/* in the bitmap area; ~0u: NULL */
};

/* A filter as the harness builds it: compared to skip identical installs. */
struct mx_fspec {
	__u32 flags;
	unsigned int nranges;	/* ranges[] slots used (empty ones included) */
	struct mx_range r[MX_RANGES];
};

struct mx_op {
	bool write;
	enum mx_sel sel;
	__u32 index;
	enum mx_vkind vkind;
	__u64 param;
	enum mx_reentry reentry;
	__u64 data;
	__u8 error;
	__u8 scribble;
};

struct mx_input {
	enum msr_cpuid_state cpuid;	/* the VM's guest CPUID */
	__u64 mask;
	bool bad_cap;
	__u64 bad_args0;
	__u32 bad_flags;
	struct mx_fspec f;
	enum mx_twist twist;
	__u8 tb;
	struct mx_fspec ft;	/* F with the twist */
	unsigned int nops;
	struct mx_op ops[MX_MAX_OPS];
};

static void twist_filter(struct mx_input *x)
{
	struct mx_fspec *t = &x->ft;
	__u8 tb = x->tb;
	unsigned int slot = x->f.nranges + (tb >> 6);
	struct mx_range *r = &t->r[slot];
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
	*r = (struct mx_range){
		.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		.base = msr_catalog_table[tb % MSR_CATALOG_SIZE].index & ~7u,
		.nmsrs = 8 + (tb & 0x38),
		.pattern = tb,
		.bm_off = MX_DECODED_RANGES * MX_BM_STRIDE,	/* readable, 8 bytes */
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
	case TW_BITMAP_FAULT: {
		__u32 size = msr_model_bitmap_bytes(r->nmsrs, MSR_MODEL_KERNEL_LONG_BYTES);

		/* Ends past the readable area by 1..size bytes, or NULL. */
		r->bm_off = tb & 0x80 ? ~0u : MX_BM_RW - (tb % size);
		break;
	}
	case TW_EMPTY_SKIPPED:
		r->nmsrs = 0;
		r->flags = 1u << (2 + tb % 30);
		break;
	default:
		break;
	}
}

static void decode(const uint8_t *data, size_t size, struct mx_input *x)
{
	struct fuzz_in in;
	__u8 mb, fh, t;
	unsigned int i;

	memset(x, 0, sizeof(*x));
	fuzz_in_init(&in, data, size);

	mb = fuzz_u8(&in);
	x->mask = mb & KVM_MSR_EXIT_REASON_VALID_MASK;
	x->cpuid = mb & MX_CPUID_PRESENT ? MSR_CPUID_PRESENT : MSR_CPUID_ABSENT;
	if (mb & 0x08) {
		x->bad_cap = true;
		x->bad_args0 = fuzz_u64(&in);
		x->bad_flags = mb & 0x10 ? fuzz_u32(&in) : 0;
	}

	fh = fuzz_u8(&in);
	t = fh >> 4;
	x->twist = t >= 9 ? (enum mx_twist)(t - 8) : TW_NONE;
	if (x->twist)
		x->tb = fuzz_u8(&in);
	x->f.nranges = (fh & 7) % (MX_DECODED_RANGES + 1);
	x->f.flags = x->f.nranges && (fh & 8) ? KVM_MSR_FILTER_DEFAULT_DENY : 0;
	for (i = 0; i < x->f.nranges; i++) {
		static const __u32 flags[] = {
			KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, KVM_MSR_FILTER_READ,
			KVM_MSR_FILTER_WRITE, KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		};
		struct mx_range *r = &x->f.r[i];
		__u8 rf = fuzz_u8(&in), off, nm;
		__u32 anchor;

		if ((rf >> 2) >= MX_RAW_BASE_SEL)
			anchor = fuzz_u32(&in);
		else
			anchor = msr_catalog_table[(rf >> 2) % MSR_CATALOG_SIZE].index;
		off = fuzz_u8(&in);
		nm = fuzz_u8(&in);
		r->flags = flags[rf & 3];
		r->base = anchor - (off & 0x1f);
		r->nmsrs = 1 + nm + (off >> 5) * 256u;
		r->pattern = fuzz_u8(&in);
		r->bm_off = i * MX_BM_STRIDE;
	}
	if (x->twist)
		twist_filter(x);

	while (fuzz_in_left(&in) && x->nops < MX_MAX_OPS) {
		struct mx_op *o = &x->ops[x->nops++];
		__u8 ob = fuzz_u8(&in), s = (ob >> 1) & 3, v = (ob >> 3) & 7;

		o->write = ob & 1;
		o->sel = s < 2 ? SEL_CATALOG : s == 2 ? SEL_X2APIC : SEL_RAW;
		if (o->sel == SEL_CATALOG)
			o->index = msr_catalog_table[fuzz_u8(&in) % MSR_CATALOG_SIZE].index;
		else if (o->sel == SEL_X2APIC)
			o->index = MSR_MODEL_X2APIC_FIRST + fuzz_u8(&in);
		else
			o->index = fuzz_u32(&in);
		o->vkind = v < 3 ? V_VALID : (enum mx_vkind)(v - 2);
		if (o->write)
			o->param = fuzz_u64(&in);
		o->reentry = ob >> 6 < 2 ? RE_PLAIN : ob >> 6 == 2 ? RE_IMMEDIATE : RE_SIGNAL;
		o->data = fuzz_u64(&in);
		o->error = fuzz_u8(&in);
		o->scribble = fuzz_u8(&in);
	}
}

/* ---- encoding (seeds): the inverse of decode() ------------------------------ */

struct mx_seed_range {
	__u32 flags;		/* R, W or R|W */
	__u32 base, nmsrs;	/* nmsrs 1..2048 */
	__u8 pattern;
};

/* The first byte; mx_emit() writes each seed again with MX_CPUID_PRESENT. */
static void put_mask(struct fuzz_out *o, __u64 mask, bool bad, __u64 args0, __u32 flags)
{
	fuzz_put_u8(o, (mask & 7) | (bad ? 0x08 : 0) | (bad && flags ? 0x10 : 0));
	if (bad) {
		fuzz_put_u64(o, args0);
		if (flags)
			fuzz_put_u32(o, flags);
	}
}

static void put_filter(struct fuzz_out *o, bool deny, unsigned int n,
		       const struct mx_seed_range *r, enum mx_twist twist, __u8 tb)
{
	unsigned int i;

	fuzz_put_u8(o, n | (deny ? 8 : 0) | (twist ? (twist + 8) << 4 : 0));
	if (twist)
		fuzz_put_u8(o, tb);
	for (i = 0; i < n; i++) {
		__u32 n1 = r[i].nmsrs - 1;
		__u8 fl = r[i].flags == KVM_MSR_FILTER_READ ? 1 :
			  r[i].flags == KVM_MSR_FILTER_WRITE ? 2 : 0;

		fuzz_put_u8(o, fl | MX_RAW_BASE_SEL << 2);
		fuzz_put_u32(o, r[i].base);
		fuzz_put_u8(o, (n1 >> 8) << 5);
		fuzz_put_u8(o, n1 & 0xff);
		fuzz_put_u8(o, r[i].pattern);
	}
}

static unsigned int catalog_pos(__u32 index)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		if (msr_catalog_table[i].index == index)
			return i;
	return MSR_CATALOG_SIZE;
}

static void put_op(struct fuzz_out *o, const struct mx_op *op)
{
	static const __u8 vk[] = { [V_VALID] = 0, [V_RES_HIGH] = 3, [V_RES_LOW] = 4,
				   [V_NONCANON] = 5, [V_PAT] = 6, [V_RAW] = 7 };
	static const __u8 re[] = { [RE_PLAIN] = 0, [RE_IMMEDIATE] = 2, [RE_SIGNAL] = 3 };
	__u8 s = op->sel == SEL_CATALOG ? 0 : op->sel == SEL_X2APIC ? 2 : 3;

	fuzz_put_u8(o, op->write | s << 1 | vk[op->vkind] << 3 | re[op->reentry] << 6);
	if (op->sel == SEL_CATALOG)
		fuzz_put_u8(o, catalog_pos(op->index));
	else if (op->sel == SEL_X2APIC)
		fuzz_put_u8(o, op->index - MSR_MODEL_X2APIC_FIRST);
	else
		fuzz_put_u32(o, op->index);
	if (op->write)
		fuzz_put_u64(o, op->param);
	fuzz_put_u64(o, op->data);
	fuzz_put_u8(o, op->error);
	fuzz_put_u8(o, op->scribble);
}

/* ---- VMs ---------------------------------------------------------------- */

struct mx_vm {
	bool live, dead;
	enum msr_cpuid_state cpuid;
	pid_t owner;
	uint64_t uses;
	struct guest_msr_vcpu g;
	struct msr_host_info host;
	struct msr_catalog catalog;
	struct msr_vcpu_model model;
	__u64 init[MSR_CATALOG_SIZE];	/* values at creation: every input starts here */
	bool readable[MSR_CATALOG_SIZE];
	/* what KVM holds, as far as the model knows */
	bool mask_known;
	__u64 mask;
	bool spec_known;		/* spec is KVM's filter */
	bool never_installed;
	struct mx_fspec spec;
	struct msr_model_filter_state fstate;
	uint64_t last_install_end_ns;
};

static struct mx_vm vms[MSR_CPUID_STATES][MX_VM_POOL];
static __u8 *bm_area;			/* MX_BM_RW readable, then PROT_NONE */

static void reentry_signal(int sig)
{
	(void)sig;	/* never delivered: blocked outside KVM_RUN, consumed there */
}

static void mx_init(void)
{
	struct sigaction sa = { .sa_handler = reentry_signal };
	sigset_t block;
	__u8 *p;

	/* A signal for the re-entry test: blocked except inside KVM_RUN. */
	sigaction(MX_REENTRY_SIG, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, MX_REENTRY_SIG);
	FUZZ_HARNESS_ASSERT(!sigprocmask(SIG_BLOCK, &block, NULL), "sigprocmask: %s",
			    strerror(errno));

	p = mmap(NULL, MX_BM_RW + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	FUZZ_HARNESS_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	FUZZ_HARNESS_ASSERT(!mprotect(p + MX_BM_RW, 4096, PROT_NONE), "mprotect: %s",
			    strerror(errno));
	bm_area = p;
}

/*
 * The library loads this whole executable into memslot 0, sized for a
 * 2 MB image: a libFuzzer build (~10 MB of bss) needs the rest.
 */
extern char __executable_start[], _end[];

static uint64_t image_pages(void)
{
	return (uint64_t)(_end - __executable_start) / 4096 + 1;
}

static void mx_vm_create(struct mx_vm *vm, enum msr_cpuid_state cpuid)
{
	struct kvm_signal_mask *sm;
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	vm->cpuid = cpuid;
	guest_msr_vcpu_create_extra(&vm->g, image_pages());
	/*
	 * The library's vCPU is absent already; present must be set before
	 * the probe and the model, which both see the CPUID KVM holds.
	 */
	if (cpuid != MSR_CPUID_ABSENT)
		msr_guest_cpuid_set(vm->g.vcpu, cpuid);
	guest_msr_prog_done_port(&vm->g, true);
	msr_host_info_get(&vm->host);
	msr_catalog_init(&vm->catalog);
	/* Before the first KVM_RUN, with no filter (lib/msr_catalog.h). */
	msr_probe_catalog(&vm->catalog, vm->g.vcpu);
	msr_vcpu_model_from_host(&vm->model, &vm->host, vm->g.vcpu);
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		uint64_t v = 0;

		vm->readable[i] = msr_ioctl_one(vm->g.vcpu->fd, KVM_GET_MSRS,
						vm->catalog.entries[i].index, &v) == 1 &&
				  vm->catalog.entries[i].probe.host_writable;
		vm->init[i] = vm->readable[i] ? v : 0;
	}
	/* KVM_RUN runs with every signal deliverable (the kernel's 8-byte sigset). */
	sm = calloc(1, sizeof(*sm) + 8);
	FUZZ_HARNESS_ASSERT(sm, "out of memory");
	sm->len = 8;
	vcpu_ioctl(vm->g.vcpu, KVM_SET_SIGNAL_MASK, sm);
	free(sm);
	msr_model_filter_state_init(&vm->fstate);
	vm->mask_known = true;		/* 0 until KVM_ENABLE_CAP */
	vm->spec_known = true;
	vm->never_installed = true;
	vm->owner = getpid();
	vm->live = true;
}

static void mx_vm_free(struct mx_vm *vm)
{
	if (vm->live && vm->owner == getpid())
		guest_msr_vcpu_free(&vm->g);
	vm->live = false;
}

static void mx_reset(void)
{
	unsigned int s, i;

	/* The parent's VMs: not ours to free (the fds belong to it). */
	for (s = 0; s < MSR_CPUID_STATES; s++)
		for (i = 0; i < MX_VM_POOL; i++)
			vms[s][i].live = false;
}

static void mx_fini(void)
{
	unsigned int s, i;

	for (s = 0; s < MSR_CPUID_STATES; s++)
		for (i = 0; i < MX_VM_POOL; i++)
			mx_vm_free(&vms[s][i]);
}

/* ---- the per-input state ---------------------------------------------------- */

enum mx_klass {
	K_CATALOG,	/* catalog facts: everything predicted */
	K_X2APIC,	/* 0x800..0x8ff outside the catalog, xAPIC mode: predicted */
	K_RAW,		/* handler unknown: filter-denied predicted, else partial */
};

struct mx_pop {
	const struct mx_op *in;
	enum mx_klass klass;
	int entry;			/* catalog position (K_CATALOG) */
	enum msr_access access;
	__u32 index;
	__u64 value;
	enum mx_vkind vkind;		/* after demotions */
	bool known;			/* the model predicts the whole outcome */
	struct msr_filter_verdict filter;
	struct msr_outcome first;	/* KVM's handling of the instruction */
	struct msr_outcome final;	/* after the answer (exits), else first */
	bool demoted;			/* raw WRMSR turned into RDMSR */
	unsigned int exits;
};

static struct {
	struct mx_vm *vm;
	struct mx_input x;
	struct mx_pop ops[MX_MAX_OPS];
	__u64 cur[MSR_CATALOG_SIZE];	/* the model's MSR values */
	bool written[MSR_CATALOG_SIZE];
	bool checking;
	char sig[FUZZ_SIG_LEN];
	char msg[1024];
} st;

static const char *op_str(enum msr_access a)
{
	return a == MSR_RDMSR ? "rdmsr" : "wrmsr";
}

static const char *pop_sig(const struct mx_pop *o, const char *check)
{
	const char *name;

	if (o->klass == K_CATALOG)
		return fuzz_sig(st.sig, sizeof(st.sig), o->index, op_str(o->access), check);
	name = msr_name(o->index);
	if (o->klass == K_X2APIC || !strncmp(name, "MSR_0x", 6))
		snprintf(st.sig, sizeof(st.sig), "%s.%s.%s",
			 o->klass == K_X2APIC ? "x2apic" : "unlisted", op_str(o->access), check);
	else
		fuzz_sig(st.sig, sizeof(st.sig), o->index, op_str(o->access), check);
	return st.sig;
}

/* Report a difference once per input; afterwards nothing is checked. */
static void diverge(const char *sig, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diverge(const char *sig, const char *fmt, ...)
{
	va_list ap;

	if (!st.checking)
		return;
	va_start(ap, fmt);
	vsnprintf(st.msg, sizeof(st.msg), fmt, ap);
	va_end(ap);
	st.checking = false;
	fuzz_divergence(sig, "%s", st.msg);
}

/* ---- mask and filter ---------------------------------------------------- */

static void set_cap(struct mx_vm *vm, __u64 args0, __u32 flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR, .flags = flags, .args = { args0 },
	};
	struct msr_verdict v = msr_model_cap_user_space_msr(args0, flags);
	int err = ioctl(vm->g.vm->fd, KVM_ENABLE_CAP, &cap) ? errno : 0;

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

/* Build @s as a KVM_X86_SET_MSR_FILTER argument; bitmaps in bm_area. */
static void build_filter(const struct mx_fspec *s, struct kvm_msr_filter *kf)
{
	unsigned int i;

	memset(kf, 0, sizeof(*kf));
	kf->flags = s->flags;
	for (i = 0; i < s->nranges; i++) {
		const struct mx_range *r = &s->r[i];
		__u64 size = msr_model_bitmap_bytes(r->nmsrs, MSR_MODEL_KERNEL_LONG_BYTES);
		__u8 *bm = r->bm_off == ~0u ? NULL : bm_area + r->bm_off;

		if (bm && r->nmsrs) {
			__u64 avail = MX_BM_RW - r->bm_off;

			memset(bm, r->pattern, size < avail ? size : avail);
		}
		kf->ranges[i] = (struct kvm_msr_filter_range){
			.flags = r->flags, .base = r->base, .nmsrs = r->nmsrs, .bitmap = bm,
		};
	}
}

static void describe_fspec(FILE *out, const char *what, const struct mx_fspec *s)
{
	unsigned int i;

	fprintf(out, "    %s: flags %#x, %u range slots\n", what, s->flags, s->nranges);
	for (i = 0; i < s->nranges; i++)
		fprintf(out, "      [%u] flags %#x base %#x nmsrs %#x bitmap bytes %#04x %s%#x\n", i,
			s->r[i].flags, s->r[i].base, s->r[i].nmsrs, s->r[i].pattern,
			s->r[i].bm_off == ~0u ? "NULL" : "at area+", s->r[i].bm_off == ~0u ? 0 :
			s->r[i].bm_off);
}

static bool install(struct mx_vm *vm, const struct mx_fspec *s)
{
	struct msr_model_mem_region region = {
		.addr = (__u64)(uintptr_t)bm_area, .len = MX_BM_RW, .data = bm_area,
	};
	struct msr_model_mem mem = { &region, 1 };
	struct kvm_msr_filter kf;
	struct msr_verdict v;
	int err;

	build_filter(s, &kf);
	v = msr_model_filter_install(&vm->fstate, &kf, &mem);	/* unchanged on error */
	err = -fuzz_set_msr_filter(vm->g.vm, &kf, &vm->last_install_end_ns);
	fuzz_feedback(fuzz_key(TAG_FILTER, v.rule, err, v.range + 1));
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

/* ---- prediction ------------------------------------------------------------- */

static void catalog_facts(const struct mx_vm *vm, int entry, struct msr_facts *f)
{
	struct msr_vcpu_model m = vm->model;
	int efer = catalog_pos(MSR_CAT_EFER);

	if (vm->readable[efer])
		m.efer = st.cur[efer];
	msr_catalog_facts(&vm->catalog.entries[entry], &m, f);
	if (vm->readable[entry])
		f->rd_value = st.cur[entry];
}

/* The WRMSR value of @kind (msr_matrix.c value_for()); false: n/a. */
static bool value_for(int entry, enum mx_vkind kind, __u64 param, const struct msr_facts *f,
		      __u64 *out)
{
	__u32 index = msr_catalog_table[entry].index;
	__u64 safe = msr_safe_bits(index), p = msr_mix(param), cur = st.cur[entry];
	__u64 valid = (cur & ~safe) | (p & safe);
	bool wr_ok = f->wr == MSR_HANDLER_OK;

	if (index == MSR_CAT_EFER)
		valid = cur ^ (param & 1 ? MSR_CAT_EFER_SCE : 0);
	if (f->wr_check == MSR_CHECK_CANONICAL)
		valid = msr_canonical48(p);
	if (f->wr_check == MSR_CHECK_PAT)
		valid = msr_valid_pat(p);

	switch (kind) {
	case V_VALID:
		*out = valid;
		return true;
	case V_RES_HIGH:
		if (!wr_ok || !f->wr_reserved)
			return false;
		*out = valid | 1ull << (63 - __builtin_clzll(f->wr_reserved));
		return true;
	case V_RES_LOW:
		if (!wr_ok || !f->wr_reserved)
			return false;
		*out = valid | 1ull << __builtin_ctzll(f->wr_reserved);
		return true;
	case V_NONCANON:
		if (!wr_ok || f->wr_check != MSR_CHECK_CANONICAL)
			return false;
		*out = 0x8000000000000000ull | (p & 0x00007ffffffff000ull);
		return true;
	case V_PAT: {
		static const __u8 bad[] = { 2, 3, 8 };
		unsigned int byte = 1 + p % 7;

		if (!wr_ok || f->wr_check != MSR_CHECK_PAT)
			return false;
		*out = (valid & ~(0xffull << (8 * byte))) |
		       (__u64)(bad[(p >> 8) % 3] | (param & 0xf0)) << (8 * byte);
		return true;
	}
	case V_RAW:
		*out = param;
		/* Keep what holds the guest together should KVM accept it. */
		if (index == MSR_CAT_EFER) {
			__u64 keep = MSR_CAT_EFER_LME | MSR_CAT_EFER_LMA | MSR_CAT_EFER_NX;

			*out = (param & ~keep) | (cur & keep);
		}
		if (f->wr_check == MSR_CHECK_PAT)
			*out = (param & ~0xffull) | 6;
		return true;
	default:
		return false;
	}
}

static __u32 filter_type(enum msr_access a)
{
	return a == MSR_RDMSR ? KVM_MSR_FILTER_READ : KVM_MSR_FILTER_WRITE;
}

static void predict_op(struct mx_vm *vm, const struct mx_op *in, struct mx_pop *o)
{
	unsigned int pos = catalog_pos(in->index);
	struct msr_facts f;

	memset(o, 0, sizeof(*o));
	o->in = in;
	o->index = in->index;
	o->access = in->write ? MSR_WRMSR : MSR_RDMSR;
	o->vkind = in->vkind;

	if (pos < MSR_CATALOG_SIZE) {
		o->klass = K_CATALOG;
		o->entry = pos;
		catalog_facts(vm, pos, &f);
	} else if (in->index >= MSR_MODEL_X2APIC_FIRST && in->index <= MSR_MODEL_X2APIC_LAST &&
		   !vm->model.x2apic_mode) {
		/* lapic.c:kvm_x2apic_msr_read()/write(): 1 unless in x2APIC mode. */
		o->klass = K_X2APIC;
		msr_facts_init(&f, in->index);
		f.rd = f.wr = f.host_rd = f.host_wr = MSR_HANDLER_FAULT;
		f.ignore_msrs = vm->model.ignore_msrs;
	} else {
		o->klass = K_RAW;
		msr_facts_init(&f, in->index);
		f.ignore_msrs = vm->model.ignore_msrs;
	}

	if (o->klass == K_RAW) {
		o->filter = msr_model_filter_allows(&vm->fstate, o->index, filter_type(o->access));
		if (o->access == MSR_WRMSR && o->filter.allowed) {
			/* Never a WRMSR KVM may handle without the model knowing what. */
			o->access = MSR_RDMSR;
			o->demoted = true;
			o->filter = msr_model_filter_allows(&vm->fstate, o->index,
							    KVM_MSR_FILTER_READ);
		}
		o->value = o->access == MSR_WRMSR ? in->param : 0;
		o->known = !o->filter.allowed;
		if (o->known)
			o->first = msr_model_guest_access(&vm->fstate, vm->mask, &f, o->access,
							  o->value);
		o->final = o->first;
		return;
	}

	o->known = true;
	o->filter = msr_model_filter_allows(&vm->fstate, o->index, filter_type(o->access));
	if (o->access == MSR_WRMSR) {
		if (o->klass == K_X2APIC) {
			o->value = in->vkind == V_RAW ? in->param : (__u32)msr_mix(in->param);
		} else if (!value_for(o->entry, o->vkind, in->param, &f, &o->value)) {
			o->vkind = V_VALID;
			value_for(o->entry, V_VALID, in->param, &f, &o->value);
		}
	}
	o->first = msr_model_guest_access(&vm->fstate, vm->mask, &f, o->access, o->value);
	if (o->access == MSR_WRMSR && o->vkind == V_RAW && o->first.result == MSR_RESULT_DONE &&
	    o->first.stored && o->klass == K_CATALOG) {
		/* A raw value the model would store: only a safe one. */
		o->vkind = V_VALID;
		value_for(o->entry, V_VALID, in->param, &f, &o->value);
		o->first = msr_model_guest_access(&vm->fstate, vm->mask, &f, o->access, o->value);
	}
	o->final = o->first;
	if (o->klass == K_CATALOG && o->access == MSR_WRMSR) {
		st.written[o->entry] = true;
		if (o->first.result == MSR_RESULT_DONE && o->first.stored)
			st.cur[o->entry] = o->first.data;
	}
}

/* ---- running and checking ---------------------------------------------------- */

static __u64 edx_eax(const struct msr_outcome *o)
{
	return (__u64)o->edx << 32 | o->eax;
}

static const char *outcome_str(const struct msr_outcome *o, char *buf, size_t len)
{
	if (o->result == MSR_RESULT_EXIT)
		snprintf(buf, len, "exit %s reason %s index %#x data %#llx (rule %s, cause %s)",
			 o->exit_reason == KVM_EXIT_X86_RDMSR ? "X86_RDMSR" : "X86_WRMSR",
			 msr_model_reason_str(o->msr.reason), o->msr.index,
			 (unsigned long long)o->msr.data, msr_rule_name(o->rule),
			 msr_rule_name(o->cause));
	else if (o->result == MSR_RESULT_GP)
		snprintf(buf, len, "#GP, not retired (rule %s, cause %s)", msr_rule_name(o->rule),
			 msr_rule_name(o->cause));
	else
		snprintf(buf, len, "retired%s%#llx (rule %s, cause %s)",
			 o->access == MSR_RDMSR ? ", EDX:EAX " : ", value ",
			 (unsigned long long)(o->access == MSR_RDMSR ? edx_eax(o) : o->data),
			 msr_rule_name(o->rule), msr_rule_name(o->cause));
	return buf;
}

static void what_op(char *buf, size_t len, unsigned int i, const struct mx_pop *o)
{
	snprintf(buf, len, "op %u: %s of %s (%#x%s%s%s), value %#llx (%s), exit mask %#llx, "
		 "filter verdict %s (rule %s)", i, o->access == MSR_RDMSR ? "RDMSR" : "WRMSR",
		 msr_name(o->index), o->index,
		 o->klass == K_CATALOG ? ", catalog" : o->klass == K_X2APIC ? ", x2APIC" : ", raw",
		 o->demoted ? ", WRMSR demoted" : "", o->known ? "" : ", handler unknown",
		 (unsigned long long)o->value, o->access == MSR_WRMSR ? vkind_names[o->vkind] : "-",
		 (unsigned long long)st.vm->mask, o->filter.allowed ? "allowed" : "denied",
		 msr_rule_name(o->filter.rule));
}

/* The guest's record of op @i against the final outcome. */
static void check_result(unsigned int i)
{
	const struct guest_msr_result *r = &st.vm->g.prog->results[i];
	struct mx_pop *o = &st.ops[i];
	const struct msr_outcome *want = &o->final;
	const char *check = o->exits ? "completion" : "guest";
	char what[400], exp[200];
	bool ok;

	if (!st.checking)
		return;
	what_op(what, sizeof(what), i, o);
	if (o->known && o->first.result == MSR_RESULT_EXIT && !o->exits) {
		diverge(pop_sig(o, "exit"), "%s: expected %s; actual: no exit, guest vector %u "
			"retired %u value %#llx", what, outcome_str(&o->first, exp, sizeof(exp)),
			r->vector, r->retired, (unsigned long long)r->value);
		return;
	}
	if (!o->known && !o->exits) {
		/* Handled in KVM: retired, or #GP; nothing else is decidable. */
		ok = (r->vector == 0 && r->retired) ||
		     (r->vector == MSR_MODEL_GP_VECTOR && !r->retired);
		fuzz_feedback(fuzz_key(TAG_RAW, r->vector, r->retired, o->access));
		if (!ok)
			diverge(pop_sig(o, "guest"), "%s: expected retired or #GP; actual vector %u "
				"retired %u", what, r->vector, r->retired);
		return;
	}
	if (want->result == MSR_RESULT_GP)
		ok = r->vector == MSR_MODEL_GP_VECTOR && !r->retired;
	else
		ok = !r->vector && r->retired &&
		     (o->access == MSR_WRMSR || r->value == edx_eax(want));
	if (!ok)
		diverge(pop_sig(o, check), "%s%s: expected %s; actual: guest vector %u retired %u "
			"EDX:EAX %#llx", what, o->exits ? ", after the answer (see the decoded input)" :
			"", outcome_str(want, exp, sizeof(exp)), r->vector, r->retired,
			(unsigned long long)r->value);
}

/* An exit KVM returned for op @i: check it, answer it. */
static void check_exit(unsigned int i, const struct kvm_run *run)
{
	static const __u8 zero[7];
	struct mx_pop *o = &st.ops[i];
	const struct msr_outcome *e = &o->first;
	__u32 want_exit = o->access == MSR_RDMSR ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR;
	__u64 want_data = o->access == MSR_WRMSR ? o->value : 0;
	char what[400], exp[200];

	if (!st.checking)
		return;
	what_op(what, sizeof(what), i, o);
	if (o->exits > 1) {
		diverge(pop_sig(o, "exit"), "%s: a second exit (%s reason %#x) for the same "
			"instruction after the answer", what, exit_reason_str(run->exit_reason),
			run->msr.reason);
		return;
	}
	if (o->known && e->result != MSR_RESULT_EXIT) {
		diverge(pop_sig(o, "exit"), "%s: expected %s; actual: exit %s reason %s (%#x) "
			"index %#x data %#llx", what, outcome_str(e, exp, sizeof(exp)),
			exit_reason_str(run->exit_reason), msr_model_reason_str(run->msr.reason),
			run->msr.reason, run->msr.index, (unsigned long long)run->msr.data);
		return;
	}
	if (o->known) {
		if (run->exit_reason == e->exit_reason && run->msr.reason == e->msr.reason &&
		    run->msr.index == e->msr.index && run->msr.data == e->msr.data &&
		    !run->msr.error && !memcmp(run->msr.pad, zero, sizeof(zero)))
			return;
		diverge(pop_sig(o, "exit_fields"), "%s: expected %s, error 0, pad zero; actual: "
			"exit %s reason %s (%#x) index %#x data %#llx error %u pad %s", what,
			outcome_str(e, exp, sizeof(exp)), exit_reason_str(run->exit_reason),
			msr_model_reason_str(run->msr.reason), run->msr.reason, run->msr.index,
			(unsigned long long)run->msr.data, run->msr.error,
			memcmp(run->msr.pad, zero, sizeof(zero)) ? "nonzero" : "zero");
		return;
	}
	/*
	 * Handler unknown, filter allowed: a handler failure (INVAL or
	 * UNKNOWN, never FILTER) whose reason is in the mask, the fields of
	 * x86.c:kvm_msr_user_space().
	 */
	if (run->exit_reason == want_exit && (run->msr.reason == KVM_MSR_EXIT_REASON_INVAL ||
	    run->msr.reason == KVM_MSR_EXIT_REASON_UNKNOWN) &&
	    (run->msr.reason & st.vm->mask) && run->msr.index == o->index &&
	    run->msr.data == want_data && !run->msr.error &&
	    !memcmp(run->msr.pad, zero, sizeof(zero)))
		return;
	diverge(pop_sig(o, "exit_fields"), "%s: expected exit %s with reason INVAL or UNKNOWN in "
		"the mask (the filter allows it: never FILTER), index %#x, data %#llx, error 0, pad "
		"zero; actual: exit %s reason %s (%#x) index %#x data %#llx error %u pad %s", what,
		exit_reason_str(want_exit), o->index, (unsigned long long)want_data,
		exit_reason_str(run->exit_reason), msr_model_reason_str(run->msr.reason),
		run->msr.reason, run->msr.index, (unsigned long long)run->msr.data, run->msr.error,
		memcmp(run->msr.pad, zero, sizeof(zero)) ? "nonzero" : "zero");
}

static enum msr_rule cause_of_reason(__u32 reason)
{
	switch (reason) {
	case KVM_MSR_EXIT_REASON_FILTER:
		return MSR_RULE_ACCESS_FILTERED;
	case KVM_MSR_EXIT_REASON_UNKNOWN:
		return MSR_RULE_ACCESS_UNKNOWN;
	default:
		return MSR_RULE_ACCESS_INVALID;
	}
}

/* Userspace's answer, and what the model says the guest then sees. */
static void answer(unsigned int i, struct kvm_run *run)
{
	struct mx_pop *o = &st.ops[i];
	const struct mx_op *in = o->in;
	struct msr_exit_fields user;
	struct msr_outcome exit = o->first;

	if (!o->known || exit.result != MSR_RESULT_EXIT) {
		/* What KVM reported (unpredicted, or a handler the model lacks). */
		exit = (struct msr_outcome){
			.result = MSR_RESULT_EXIT, .rule = MSR_RULE_EXIT_TO_USER_SPACE,
			.cause = cause_of_reason(run->msr.reason), .access = o->access,
			.exit_reason = run->exit_reason,
			.msr = { .reason = run->msr.reason, .index = run->msr.index,
				 .data = run->msr.data },
		};
	}
	run->msr.error = in->error;
	run->msr.data = in->data;
	if (in->scribble & 1)
		run->msr.index = ~run->msr.index ^ in->scribble;
	if (in->scribble & 2)
		run->msr.reason = MX_SCRIBBLE_REASON | in->scribble;
	if (in->scribble & 4)
		memset(run->msr.pad, 0xff ^ in->scribble, sizeof(run->msr.pad));
	user.error = run->msr.error;
	memcpy(user.pad, run->msr.pad, sizeof(user.pad));
	user.reason = run->msr.reason;
	user.index = run->msr.index;
	user.data = run->msr.data;
	o->final = msr_model_complete_exit(&exit, &user);
	fuzz_feedback(fuzz_key(TAG_COMPLETE, o->final.rule, in->reentry,
			       (in->error ? 1 : 0) | (in->scribble & 7) << 1 | o->access << 4));
}

/*
 * The KVM_RUN that immediate_exit or a pending signal cuts short: -1/EINTR
 * before the guest runs (its result stays "not run"); the completion then
 * happens on the next KVM_RUN.  Returns true if that KVM_RUN ran instead
 * (its exit is in kvm_run and must be handled).
 */
static bool interrupted_run(unsigned int i, struct kvm_run *run)
{
	const struct guest_msr_result *r = &st.vm->g.prog->results[i];
	enum mx_reentry how = st.ops[i].in->reentry;
	char what[400];
	int rc, err;

	if (how == RE_PLAIN)
		return false;
	if (how == RE_IMMEDIATE)
		run->immediate_exit = 1;
	else
		raise(MX_REENTRY_SIG);
	rc = fuzz_vcpu_run(st.vm->g.vcpu);
	err = errno;
	run->immediate_exit = 0;
	if (how == RE_SIGNAL) {
		struct timespec zero = { 0 };
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, MX_REENTRY_SIG);
		sigtimedwait(&set, NULL, &zero);
	}
	fuzz_feedback(fuzz_key(TAG_REENTRY, how, rc ? err : 0, r->vector));
	if (rc == -1 && err == EINTR && r->vector == GUEST_MSR_NOT_RUN)
		return false;
	what_op(what, sizeof(what), i, &st.ops[i]);
	diverge(pop_sig(&st.ops[i], "completion"), "%s: KVM_RUN with %s after the exit: expected "
		"-1/EINTR without running the guest; actual %d (errno %d %s), guest vector %#x "
		"retired %u", what, reentry_names[how], rc, rc ? err : 0, rc ? strerror(err) : "",
		r->vector, r->retired);
	if (rc == -1 && err == EINTR)
		return false;
	if (rc)
		st.vm->dead = true;
	return !rc;
}

/* Run the program: every exit checked and answered, every result checked. */
static void run_program(void)
{
	struct mx_vm *vm = st.vm;
	struct kvm_run *run = vm->g.vcpu->run;
	unsigned int cur = 0, checked = 0, nops = st.x.nops, budget = 2 * nops + 4;
	bool have_exit = false;
	char what[400];

	for (;;) {
		if (!have_exit && fuzz_vcpu_run(vm->g.vcpu)) {
			int err = errno;

			if (cur < nops) {
				what_op(what, sizeof(what), cur, &st.ops[cur]);
				diverge(pop_sig(&st.ops[cur], "exit"), "%s: KVM_RUN failed: %s", what,
					strerror(err));
			}
			vm->dead = true;
			return;
		}
		have_exit = false;
		cur = guest_msr_current_op(&vm->g, cur);
		for (; checked < cur && checked < nops; checked++)
			check_result(checked);

		if (run->exit_reason == KVM_EXIT_X86_RDMSR ||
		    run->exit_reason == KVM_EXIT_X86_WRMSR) {
			fuzz_stats.exits++;
			if (!budget--) {
				/* Each op exits at most once (a second one is reported). */
				diverge("none.run.exits", "more than %u MSR exits for a program of %u ops; "
					"the last: %s of %#x", 2 * nops + 4, nops,
					exit_reason_str(run->exit_reason), run->msr.index);
				vm->dead = true;
				return;
			}
			if (cur >= nops) {
				snprintf(st.sig, sizeof(st.sig), "none.%s.exit",
					 run->exit_reason == KVM_EXIT_X86_RDMSR ? "rdmsr" : "wrmsr");
				diverge(st.sig, "%s of %#x after the program's last op",
					exit_reason_str(run->exit_reason), run->msr.index);
				run->msr.error = 1;
				continue;
			}
			vm->g.prog->executed = cur;
			st.ops[cur].exits++;
			check_exit(cur, run);
			answer(cur, run);
			have_exit = interrupted_run(cur, run);
			if (vm->dead)
				return;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == GUEST_MSR_DONE_PORT &&
		    cur == nops)
			break;
		/* Anything else: the guest broke (a write KVM should have refused?). */
		if (cur < nops) {
			what_op(what, sizeof(what), cur, &st.ops[cur]);
			diverge(pop_sig(&st.ops[cur], "guest"), "%s: the guest stopped with exit %s "
				"(%u) at this op", what, exit_reason_str(run->exit_reason),
				run->exit_reason);
		} else {
			diverge("none.run.guest", "exit %s (%u) after the program's last op",
				exit_reason_str(run->exit_reason), run->exit_reason);
		}
		vm->dead = true;
		return;
	}
	for (; checked < nops; checked++)
		check_result(checked);
}

/*
 * The catalog MSRs the input wrote: KVM_GET_MSRS against the model (every
 * input in replay mode, every MX_READBACK_EVERY-th VM use while fuzzing),
 * then KVM_SET_MSRS of them all back to the VM's
 * initial values, whatever KVM did: the next input starts from the same
 * state either way.
 */
static void readback_and_restore(bool verify)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CATALOG_SIZE];
	} buf;
	unsigned int pos[MSR_CATALOG_SIZE], i, n = 0;
	struct mx_vm *vm = st.vm;
	int got;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!st.written[i] || !vm->readable[i])
			continue;
		buf.e[n] = (struct kvm_msr_entry){ .index = vm->catalog.entries[i].index };
		pos[n++] = i;
	}
	if (!n)
		return;
	buf.hdr.nmsrs = n;
	buf.hdr.pad = 0;
	if (verify) {
		fuzz_stats.ioctls++;
		got = ioctl(vm->g.vcpu->fd, KVM_GET_MSRS, &buf.hdr);
		FUZZ_HARNESS_ASSERT(got == (int)n, "KVM_GET_MSRS of %u MSRs the probe read returned %d",
				    n, got);
		for (i = 0; i < n && st.checking; i++) {
			unsigned int e = pos[i];
			struct mx_pop o = { .klass = K_CATALOG, .access = MSR_WRMSR,
					    .index = buf.e[i].index };

			if (buf.e[i].data == st.cur[e])
				continue;
			diverge(pop_sig(&o, "readback"), "after the program KVM_GET_MSRS(%s) = %#llx, "
				"model %#llx (initial value %#llx; see the decoded input for the "
				"WRMSRs)", vm->catalog.entries[e].name,
				(unsigned long long)buf.e[i].data, (unsigned long long)st.cur[e],
				(unsigned long long)vm->init[e]);
		}
	}
	for (i = 0; i < n; i++)
		buf.e[i].data = vm->init[pos[i]];
	fuzz_stats.ioctls++;
	got = ioctl(vm->g.vcpu->fd, KVM_SET_MSRS, &buf.hdr);
	if (got != (int)n)
		vm->dead = true;	/* cannot restore: a fresh VM next time */
}

/*
 * Among the VMs of guest CPUID state @cpuid: the one that already holds
 * filter @f (no install), else the one whose last install is the oldest
 * (an install right after another on the same VM takes milliseconds).
 * Which of them runs an input changes nothing the model sees: every VM
 * starts each input from the same MSR state, and mask and filter are set
 * as the input says.
 */
static struct mx_vm *pick_vm(enum msr_cpuid_state cpuid, const struct mx_fspec *f)
{
	struct mx_vm *pool = vms[cpuid], *oldest = &pool[0];
	unsigned int i;

	for (i = 0; i < MX_VM_POOL; i++) {
		struct mx_vm *vm = &pool[i];

		if (vm->live && !vm->dead && vm->spec_known && !vm->never_installed &&
		    !memcmp(&vm->spec, f, sizeof(*f)))
			return vm;
		if (!vm->live)
			return vm;
		if (vm->last_install_end_ns < oldest->last_install_end_ns)
			oldest = vm;
	}
	return oldest;
}

static void mx_one(const uint8_t *data, size_t size)
{
	struct mx_input *x = &st.x;
	struct mx_vm *vm;
	unsigned int i;

	decode(data, size, x);
	vm = pick_vm(x->cpuid, &x->f);
	if (vm->live && vm->dead)
		mx_vm_free(vm);
	if (!vm->live)
		mx_vm_create(vm, x->cpuid);
	st.vm = vm;
	/* Known divergences are matched in this VM's setting (guest CPUID...). */
	fuzz_set_case(&vm->model);
	st.checking = true;
	memcpy(st.cur, vm->init, sizeof(st.cur));
	memset(st.written, 0, sizeof(st.written));

	if (!vm->mask_known || vm->mask != x->mask)
		set_cap(vm, x->mask, 0);
	if (x->bad_cap && st.checking)
		set_cap(vm, x->bad_args0, x->bad_flags);
	if (st.checking && (!vm->spec_known || vm->never_installed ||
			    memcmp(&vm->spec, &x->f, sizeof(x->f))))
		install(vm, &x->f);
	if (x->twist && st.checking)
		install(vm, &x->ft);
	if (!st.checking || !x->nops)
		return;

	guest_msr_prog_clear(&vm->g);
	for (i = 0; i < x->nops; i++) {
		struct mx_pop *o = &st.ops[i];

		predict_op(vm, &x->ops[i], o);
		fuzz_feedback(fuzz_key(TAG_OP, o->known ? o->first.cause : 0x100 | o->filter.rule,
				       o->known ? o->first.rule : o->klass,
				       o->access | o->first.msr.reason << 1 | o->vkind << 4));
		guest_msr_prog_add(&vm->g, o->access == MSR_WRMSR ? GUEST_WRMSR : GUEST_RDMSR,
				   o->index, o->value);
	}
	fuzz_stats.guest_ops += x->nops;
	run_program();
	if (!vm->dead)
		readback_and_restore(st.checking && (fuzz_replay_mode ||
						     !(++vm->uses % MX_READBACK_EVERY)));
	else
		mx_vm_free(vm);
}

/* ---- describe ------------------------------------------------------------------ */

static void mx_describe(const uint8_t *data, size_t size, FILE *out)
{
	static struct mx_input x;
	char cpuid[400];
	unsigned int i;

	decode(data, size, &x);
	msr_cpuid_state_describe(cpuid, sizeof(cpuid), x.cpuid);
	fprintf(out, "    guest CPUID %s\n", cpuid);
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
		const struct mx_op *o = &x.ops[i];

		fprintf(out, "    op %u: %s %s (%#x, %s)", i, o->write ? "WRMSR" : "RDMSR",
			msr_name(o->index), o->index,
			o->sel == SEL_CATALOG ? "catalog" : o->sel == SEL_X2APIC ? "x2APIC" : "raw");
		if (o->write)
			fprintf(out, " value %s param %#llx", vkind_names[o->vkind],
				(unsigned long long)o->param);
		fprintf(out, "; on exit: data %#llx error %#x scribble%s%s%s%s, re-entry %s\n",
			(unsigned long long)o->data, o->error, o->scribble & 1 ? " index" : "",
			o->scribble & 2 ? " reason" : "", o->scribble & 4 ? " pad" : "",
			o->scribble & 7 ? "" : " none", reentry_names[o->reentry]);
	}
	if (st.vm && st.vm->live && st.vm->cpuid == x.cpuid)
		fprintf(out, "    (the VM: %s backend, vendor %s, guest CPUID %s, guest features "
			"%#x, %s)\n", st.vm->host.backend,
			st.vm->model.vendor == MSR_VENDOR_INTEL ? "Intel" : "AMD",
			msr_cpuid_state_name(st.vm->cpuid), st.vm->model.guest_features,
			st.vm->model.x2apic_mode ? "x2APIC" : "xAPIC");
}

/* ---- seeds ------------------------------------------------------------------- */

static void seed_name(char *buf, size_t len, const char *prefix, const char *name)
{
	size_t i, n = snprintf(buf, len, "%s", prefix);

	for (i = 0; name[i] && n < len - 1; i++, n++)
		buf[n] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' :
			 ((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')) ?
			 name[i] : '_';
	buf[n] = 0;
}

/*
 * Every seed in both guest CPUID states: as built (absent), and again with
 * MX_CPUID_PRESENT in its first byte as "<name>_cpuid" (the present state
 * decides what the catalog's IBPB, FLUSH_L1D, ARCH_CAPABILITIES, TSC_AUX
 * and EFER bits do).
 */
static void mx_emit(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	fuzz_emit_cpuid_states(e, name, o, 0, MX_CPUID_PRESENT);
}

static void mx_seeds(struct fuzz_emit *e)
{
	static const __u8 errors[] = { 0, 1, 0xff };
	static const enum mx_vkind kinds[] = { V_VALID, V_RES_HIGH, V_RES_LOW, V_NONCANON, V_PAT,
					       V_RAW };
	const struct msr_filter_spec *specs[2] = { msr_compat_filter_specs,
						   msr_semantic_filter_specs };
	const unsigned int nspecs[2] = {
		sizeof(msr_compat_filter_specs) / sizeof(msr_compat_filter_specs[0]),
		sizeof(msr_semantic_filter_specs) / sizeof(msr_semantic_filter_specs[0]),
	};
	static const __u32 probes[] = { 0x3, 0x7ff, 0x900, 0xdeadbeef, 0xffffffff, MSR_CAT_EFER };
	static struct fuzz_out o;
	struct mx_seed_range r;
	struct mx_op op;
	unsigned int i, k, s, t;
	char name[96];

	/* Per catalog MSR: RDMSR and WRMSR of each value kind, mask all, a range on it. */
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &msr_catalog_table[i];

		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
		r = (struct mx_seed_range){ KVM_MSR_FILTER_WRITE, c->index, 1, i & 1 ? 0xff : 0 };
		put_filter(&o, false, 1, &r, TW_NONE, 0);
		op = (struct mx_op){ .sel = SEL_CATALOG, .index = c->index,
					  .data = 0x1122334455667788ull ^ c->index,
					  .error = errors[i % 3], .scribble = i & 7 };
		put_op(&o, &op);
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			op.write = true;
			op.vkind = kinds[k];
			op.param = 0x8000000000000000ull >> (k * 9) | c->index;
			op.error = errors[(i + k) % 3];
			op.reentry = (enum mx_reentry)((i + k) % 3);
			put_op(&o, &op);
		}
		seed_name(name, sizeof(name), "cat_", c->name);
		mx_emit(e, name, &o);
	}

	/* The suite's filter specs, probed on their indices, each exit mask. */
	for (s = 0; s < 2; s++)
		for (t = 0; t < nspecs[s]; t++) {
			const struct msr_filter_spec *sp = &specs[s][t];
			struct mx_seed_range rs[MSR_SPEC_MAX_RANGES];
			enum mx_twist tw = TW_NONE;
			unsigned int n = 0;
			__u8 tb = 0;

			for (k = 0; k < sp->nranges && n < MX_DECODED_RANGES; k++) {
				if (sp->ranges[k].flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK) {
					tw = TW_RANGE_FLAGS;
					continue;
				}
				rs[n++] = (struct mx_seed_range){ sp->ranges[k].flags ?
					sp->ranges[k].flags : KVM_MSR_FILTER_READ,
					sp->ranges[k].base, sp->ranges[k].nmsrs ?
					(sp->ranges[k].nmsrs > 2048 ? 2048 : sp->ranges[k].nmsrs) : 1,
					sp->ranges[k].pattern };
			}
			if ((sp->flags & KVM_MSR_FILTER_DEFAULT_DENY) && !n)
				tw = TW_DENY_EMPTY;
			o.n = 0;
			put_mask(&o, (t + s) % 8, false, 0, 0);
			put_filter(&o, sp->flags & KVM_MSR_FILTER_DEFAULT_DENY, n, rs, tw, tb);
			for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
				op = (struct mx_op){ .write = k & 1, .sel = SEL_CATALOG,
							  .index = probes[k], .param = k,
							  .data = ~0ull - k, .error = errors[k % 3],
							  .scribble = 7 };
				put_op(&o, &op);
			}
			seed_name(name, sizeof(name), "spec_", sp->name);
			mx_emit(e, name, &o);
		}

	/* The protocol: an UNKNOWN exit answered every way, each re-entry. */
	for (k = 0; k < 3; k++) {
		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_UNKNOWN, false, 0, 0);
		put_filter(&o, false, 0, NULL, TW_NONE, 0);
		for (i = 0; i < 6; i++) {
			op = (struct mx_op){ .write = i & 1, .sel = SEL_CATALOG,
						  .index = 0xdeadbeef, .param = 0x1122334455667788ull,
						  .reentry = (enum mx_reentry)k,
						  .data = 0xfedcba9876543210ull + i,
						  .error = errors[i / 2], .scribble = i * 3 };
			put_op(&o, &op);
		}
		snprintf(name, sizeof(name), "protocol_%s", k == RE_PLAIN ? "plain" :
			 k == RE_IMMEDIATE ? "immediate_exit" : "signal");
		mx_emit(e, name, &o);
	}

	/* Invalid masks and cap flags; the exit mask boundaries. */
	for (k = 0; k < 4; k++) {
		static const __u64 bad[] = { 8, 1ull << 63, KVM_MSR_EXIT_REASON_VALID_MASK, 0 };

		o.n = 0;
		put_mask(&o, k + 1, true, bad[k], k >= 2 ? 1u << k : 0);
		put_filter(&o, false, 0, NULL, TW_NONE, 0);
		op = (struct mx_op){ .sel = SEL_CATALOG, .index = 0x3, .data = k };
		put_op(&o, &op);
		snprintf(name, sizeof(name), "cap_%u", k);
		mx_emit(e, name, &o);
	}

	/* Each twist after a deny-default filter around 0xdeadbeef. */
	for (k = TW_FILTER_FLAGS; k <= TW_EMPTY_SKIPPED; k++) {
		o.n = 0;
		put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
		r = (struct mx_seed_range){ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					    0xdeadbee8, 16, 0x55 };
		put_filter(&o, true, 1, &r, (enum mx_twist)k, k * 37);
		op = (struct mx_op){ .sel = SEL_CATALOG, .index = 0xdeadbeef, .data = k };
		put_op(&o, &op);
		op = (struct mx_op){ .write = true, .sel = SEL_CATALOG, .index = 0x7ff,
					  .error = 1 };
		put_op(&o, &op);
		seed_name(name, sizeof(name), "twist_", twist_names[k]);
		mx_emit(e, name, &o);
	}

	/* x2APIC and raw indices, filtered and not. */
	o.n = 0;
	put_mask(&o, KVM_MSR_EXIT_REASON_VALID_MASK, false, 0, 0);
	r = (struct mx_seed_range){ KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, 0x7f0, 0x120, 0 };
	put_filter(&o, false, 1, &r, TW_NONE, 0);
	op = (struct mx_op){ .sel = SEL_X2APIC, .index = 0x830, .data = 1 };
	put_op(&o, &op);
	op = (struct mx_op){ .write = true, .sel = SEL_X2APIC, .index = 0x80b, .error = 1 };
	put_op(&o, &op);
	op = (struct mx_op){ .write = true, .sel = SEL_RAW, .index = 0x7f5, .param = 3 };
	put_op(&o, &op);
	op = (struct mx_op){ .sel = SEL_RAW, .index = 0x10, .data = 2 };
	put_op(&o, &op);
	op = (struct mx_op){ .write = true, .sel = SEL_RAW, .index = 0x4b564d00, .data = 2 };
	put_op(&o, &op);
	mx_emit(e, "x2apic_and_raw", &o);

	/* The typical input: mask, one range, two ops. */
	o.n = 0;
	put_mask(&o, KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN, false, 0, 0);
	r = (struct mx_seed_range){ KVM_MSR_FILTER_READ, 0x0, 0x10, 0xf7 };
	put_filter(&o, false, 1, &r, TW_NONE, 0);
	op = (struct mx_op){ .sel = SEL_CATALOG, .index = 0x3, .data = 0xabcdef };
	put_op(&o, &op);
	op = (struct mx_op){ .write = true, .sel = SEL_CATALOG, .index = MSR_CAT_STAR,
				  .param = 0x42 };
	put_op(&o, &op);
	mx_emit(e, "typical", &o);

	fuzz_emit_catalog_tokens(e);
	for (k = 0; k < 2 * 8; k++) {
		__u8 mb = (k & 7) | (k & 8 ? MX_CPUID_PRESENT : 0);

		snprintf(name, sizeof(name), "mask_%u%s", k & 7, k & 8 ? "_cpuid" : "");
		e->token(e, name, &mb, 1);
	}
	o.n = 0;
	op = (struct mx_op){ .sel = SEL_CATALOG, .index = 0xdeadbeef };
	put_op(&o, &op);
	e->token(e, "op_rdmsr_unknown", o.buf, 2);
	o.n = 0;
	op = (struct mx_op){ .write = true, .sel = SEL_CATALOG, .index = MSR_CAT_CR_PAT,
				  .vkind = V_PAT };
	put_op(&o, &op);
	e->token(e, "op_wrmsr_pat_type", o.buf, 2);
}

const struct fuzz_target fuzz_target_msr_exit = {
	.name = "msr_exit",
	.summary = "exit mask, filter, guest RDMSR/WRMSR and the answers to their exits vs the model",
	.max_len = 512,
	.init = mx_init,
	.reset = mx_reset,
	.one = mx_one,
	.describe = mx_describe,
	.seeds = mx_seeds,
	.fini = mx_fini,
};
