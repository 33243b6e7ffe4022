// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target msr_filter: KVM_X86_SET_MSR_FILTER with a fuzzed filter whose
 * bitmaps sit anywhere from a plain buffer to right before an unmapped page,
 * then guest RDMSR/WRMSR probes run by the guest payload
 * (guest_code/msr_guest.h).  The ioctl's result and every probe are
 * compared with the model (lib/msr_model.h); a rejected filter must leave
 * the previous one in force.
 *
 * Per input, on one VM of a pool (two per resident filter and guest CPUID
 * state, used in turn so that two installs on one VM are always separated
 * by other work; created when an input first needs them):
 *   1. the VM holds its resident filter (one of the valid specs of
 *      lib/msr_filter_specs.h; the model's state is the resident's) and the
 *      exit mask INVAL|UNKNOWN|FILTER;
 *   2. KVM_X86_SET_MSR_FILTER of the fuzzed filter: errno against
 *      msr_model_filter_install() on a copy of the resident's state;
 *   3. the probes as cases of lib/msr_case.h, one guest program, in the
 *      setting the model has in force (the fuzzed filter if accepted,
 *      else the resident's), exits answered with error 0 and a
 *      distinctive data;
 *   4. host accesses ignore the filter (api.rst 4.97): the first catalog
 *      MSR the filter in force denies to the guest is read and written back
 *      with KVM_GET_MSRS/KVM_SET_MSRS, both must succeed
 *      (<msr>.get|set.host_filtered);
 *   5. if the fuzzed filter was accepted, the resident is installed again
 *      (the probes' KVM_RUN is the gap fuzz_set_msr_filter() needs).
 *
 * A catalog MSR's probe writes only its current value (an UNKNOWN class
 * MSR, which has no handler, the input's value); for other indices see
 * msr_case_predict().
 *
 * Input format (little endian; reads past the end give zero bytes, so every
 * byte string is one input; the all-zero input is resident 0, guest CPUID
 * absent, an empty DEFAULT_ALLOW filter and no probes):
 *
 *   u8   resident    resident = residents[resident % nresidents]
 *   u8   fctl        bit 0: KVM_MSR_FILTER_DEFAULT_DENY;
 *                    bit 6: the VM's guest CPUID state (lib/msr_host.h) is
 *                      present (the toggled features KVM supports), else
 *                      absent (none: the same guest on every host; the bit
 *                      was unused before, and clear in every saved
 *                      regression, so those replay as they did);
 *                    bit 7: raw filter flags follow (u32), bit 0 ignored
 *   [u32 flags]
 *   u8   nranges     % 17: ranges[0..n-1] follow, the others are all zero
 *   u8   nprobes     % 17: probes follow the ranges
 *   range:
 *     u8  ctl        bits 0-1 flags: READ, WRITE, READ|WRITE, raw u32
 *                    bits 2-4 bitmap place (FUZZ_PLACE_*): 0 normal (slot +
 *                      arg), 1 guard_end (the bitmap's last byte is the
 *                      byte before a PROT_NONE page), 2 truncated (the guard
 *                      page cuts it 1 + arg % size bytes short), 3 NULL,
 *                      4 unmapped (guard page + arg), 5 wild (arg & 3: page
 *                      0, non-canonical, kernel half, wrapping past 2^64,
 *                      from the u64), 6 normal, 7 guard_end
 *                    bits 5-6 nmsrs: u8, u16, u32, boundary table[u8]
 *                    bit 7 base: raw u32, or anchored: u8 catalog entry,
 *                      u8 back (base = entry's index - back, u32)
 *     [u32 flags]    if raw
 *     base           u32, or u8 entry + u8 back
 *     nmsrs          u8, u16, u32 or u8 (table index)
 *     u8  arg        placement argument
 *     [u64 wild]     if place wild
 *     u8  pattern    every bitmap byte (bit set: allowed) ...
 *     u8  nexplicit  ... except the first nexplicit, which follow
 *     u8  bytes[nexplicit]
 *   probe (at most 16):
 *     u8  ctl        bit 0: WRMSR (else RDMSR); bit 4: u64 value follows
 *                    bits 1-3 index (MF_SRC_*): 0/5 catalog (u8 entry),
 *                      1/6 range edge (u8 sel), 2 x2APIC (0x800 + u8),
 *                      3/7 raw u32, 4 inside a range (u8 sel, u16 offset)
 *                    sel: bits 0-3 range, bit 4 the resident's ranges
 *                      (else the fuzzed ones), bits 5-7 edge (MF_EDGE_*):
 *                      base-1, base, base+nmsrs-1, base+nmsrs, middle,
 *                      base+64, base-64, 0xffffffff (all u32)
 *     index args     as above
 *     [u64 value]
 *
 * Typical input: 1-4 ranges and 4 probes, 25-70 bytes.
 *
 * Signatures: the probes' are the engine's (<msr>.<op>.<check>,
 * lib/msr_case.h; "previous" where the fuzzed filter was refused), plus
 * filter.set.<rule> (KVM_X86_SET_MSR_FILTER's result differs from the
 * model's, decided by <rule>), filter.resident.filter_accepted (KVM refused
 * a resident filter again) and <msr>.get|set.host_filtered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuzz.h"
#include "msr_catalog.h"
#include "msr_filter_probe.h"
#include "msr_filter_specs.h"
#include "msr_guest.h"
#include "msr_host.h"
#include "msr_model.h"
#include "msr_names.h"
#include "msr_probe.h"

#define MF_MAX_RANGES		KVM_MSR_FILTER_MAX_RANGES
#define MF_MAX_PROBES		16
#define MF_MAX_RESIDENTS	32
#define MF_MAX_EXPLICIT		255
#define MF_EXIT_MASK		(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN | \
				 KVM_MSR_EXIT_REASON_FILTER)
#define MF_CPUID_PRESENT	0x40	/* fctl: the guest CPUID state */

/* Feedback tags. */
#define MF_TAG_FILTER		0x10
#define MF_TAG_RANGE		0x11
#define MF_TAG_PROBE		0x20
#define MF_TAG_SEEN		0x21

static const uint8_t place_of_code[8] = {
	FUZZ_PLACE_NORMAL, FUZZ_PLACE_GUARD_END, FUZZ_PLACE_TRUNCATED, FUZZ_PLACE_NULL,
	FUZZ_PLACE_UNMAPPED, FUZZ_PLACE_WILD, FUZZ_PLACE_NORMAL, FUZZ_PLACE_GUARD_END,
};

enum mf_nmsrs_mode { MF_NMSRS_U8, MF_NMSRS_U16, MF_NMSRS_U32, MF_NMSRS_TABLE };

/* Sizes around the bitmap rules: longs, the size limit, u32 and long wrap. */
static const uint32_t nmsrs_table[] = {
	0, 1, 2, 63, 64, 65, 127, 128, 129, 0x800, 0x2fff, 0x3000, 0x3001, 0x3040, 0x3041,
	0x10000, 0x7fffffff, 0x80000000, 0xffffffc0, 0xffffffc1, 0xfffffffe, 0xffffffff,
};

#define NMSRS_TABLE_SIZE	(sizeof(nmsrs_table) / sizeof(nmsrs_table[0]))

enum mf_src {
	MF_SRC_CATALOG,
	MF_SRC_EDGE,
	MF_SRC_X2APIC,
	MF_SRC_RAW,
	MF_SRC_INSIDE,
	MF_SRCS
};

static const uint8_t src_of_code[8] = {
	MF_SRC_CATALOG, MF_SRC_EDGE, MF_SRC_X2APIC, MF_SRC_RAW, MF_SRC_INSIDE,
	MF_SRC_CATALOG, MF_SRC_EDGE, MF_SRC_RAW,
};

static const char *const src_names[MF_SRCS] = { "catalog", "range edge", "x2APIC", "raw", "inside range" };

enum mf_edge {
	MF_EDGE_BELOW,		/* base - 1 */
	MF_EDGE_BASE,
	MF_EDGE_LAST,		/* base + nmsrs - 1 */
	MF_EDGE_END,		/* base + nmsrs */
	MF_EDGE_MIDDLE,
	MF_EDGE_NEXT_LONG,	/* base + 64 */
	MF_EDGE_PREV_LONG,	/* base - 64 */
	MF_EDGE_U32_MAX,
};

static const char *const edge_names[8] = {
	"base-1", "base", "base+nmsrs-1", "base+nmsrs", "middle", "base+64", "base-64", "0xffffffff",
};

/* ---- the decoded input ---------------------------------------------------- */

struct mf_range {
	uint8_t ctl;
	uint32_t flags;
	uint32_t base;
	uint32_t nmsrs;
	bool anchored;
	uint8_t anchor, back;
	enum mf_nmsrs_mode nmsrs_mode;
	enum fuzz_place place;
	uint8_t arg;
	uint64_t wild;
	uint8_t pattern;
	uint8_t nexplicit;
	uint8_t bytes[MF_MAX_EXPLICIT];
};

struct mf_probe {
	bool write;
	enum mf_src src;
	uint8_t sel;		/* catalog entry, x2APIC offset or range selector */
	uint16_t offset;	/* MF_SRC_INSIDE */
	uint32_t index;
	bool has_value;
	uint64_t value;
};

struct mf_input {
	unsigned int resident;
	enum msr_cpuid_state cpuid;	/* the VM's guest CPUID */
	uint32_t flags;
	bool raw_flags;
	unsigned int nranges;
	unsigned int nprobes;
	struct mf_range ranges[MF_MAX_RANGES];
	struct mf_probe probes[MF_MAX_PROBES];
};

/* ---- resident filters --------------------------------------------------- */

struct mf_resident {
	const struct msr_filter_spec *spec;
	struct kvm_msr_filter filter;
	uint8_t bitmaps[MSR_SPEC_MAX_RANGES][KVM_MSR_FILTER_MAX_BITMAP_SIZE];
	struct msr_model_filter_state state;
};

/*
 * Large state lives on the heap: kvm_vm_elf_load() copies the whole binary
 * image, .bss included, into every VM's memory.
 */
static struct mf_resident *residents;
static unsigned int nresidents;

static void resident_add(const struct msr_filter_spec *s)
{
	struct msr_model_mem_region regions[MSR_SPEC_MAX_RANGES];
	struct mf_resident *r = &residents[nresidents];
	struct msr_model_mem mem;

	FUZZ_HARNESS_ASSERT(nresidents < MF_MAX_RESIDENTS, "too many resident filters");
	r->spec = s;
	msr_filter_spec_build(s, &r->filter, r->bitmaps);
	msr_filter_spec_mem(r->bitmaps, regions, &mem);
	msr_model_filter_state_init(&r->state);
	/* Only filters the model accepts can be residents. */
	if (msr_model_filter_install(&r->state, &r->filter, &mem).err)
		return;
	nresidents++;
}

/* Every valid spec of the tests (lib/msr_filter_specs.h), allow_empty among them. */
static void residents_init(void)
{
	unsigned int i;

	if (nresidents)
		return;
	residents = calloc(MF_MAX_RESIDENTS, sizeof(*residents));
	FUZZ_HARNESS_ASSERT(residents, "out of memory");
	for (i = 0; i < MSR_COMPAT_FILTER_SPECS; i++)
		resident_add(&msr_compat_filter_specs[i]);
	for (i = 0; i < MSR_SEMANTIC_FILTER_SPECS; i++)
		resident_add(&msr_semantic_filter_specs[i]);
	for (i = 0; i < 2; i++)
		resident_add(&msr_swap_filter_specs[i]);
	FUZZ_HARNESS_ASSERT(nresidents, "no valid filter spec");
}

/* ---- decoding ------------------------------------------------------------ */

static uint32_t catalog_index(uint8_t entry)
{
	return msr_catalog_table[entry % MSR_CATALOG_SIZE].index;
}

/* The range a probe selector names: base and nmsrs (all zero if none). */
static void selected_range(const struct mf_input *in, uint8_t sel, uint32_t *base,
			   uint32_t *nmsrs)
{
	unsigned int n = sel & 0xf;

	*base = 0;
	*nmsrs = 0;
	if (sel & 0x10) {
		const struct msr_filter_spec *s = residents[in->resident].spec;

		if (s->nranges) {
			*base = s->ranges[n % s->nranges].base;
			*nmsrs = s->ranges[n % s->nranges].nmsrs;
		}
	} else if (in->nranges) {
		*base = in->ranges[n % in->nranges].base;
		*nmsrs = in->ranges[n % in->nranges].nmsrs;
	}
}

static uint32_t edge_index(uint32_t base, uint32_t nmsrs, unsigned int edge)
{
	switch (edge) {
	case MF_EDGE_BELOW:
		return base - 1;
	case MF_EDGE_BASE:
		return base;
	case MF_EDGE_LAST:
		return base + nmsrs - 1;
	case MF_EDGE_END:
		return base + nmsrs;
	case MF_EDGE_MIDDLE:
		return base + nmsrs / 2;
	case MF_EDGE_NEXT_LONG:
		return base + 64;
	case MF_EDGE_PREV_LONG:
		return base - 64;
	default:
		return 0xffffffffu;
	}
}

static void decode_range(struct fuzz_in *d, struct mf_range *r)
{
	static const uint32_t flag_modes[3] = {
		KVM_MSR_FILTER_READ, KVM_MSR_FILTER_WRITE,
		KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
	};

	r->ctl = fuzz_u8(d);
	r->flags = (r->ctl & 3) == 3 ? fuzz_u32(d) : flag_modes[r->ctl & 3];
	r->place = place_of_code[(r->ctl >> 2) & 7];
	r->nmsrs_mode = (r->ctl >> 5) & 3;
	r->anchored = r->ctl & 0x80;
	if (r->anchored) {
		r->anchor = fuzz_u8(d);
		r->back = fuzz_u8(d);
		r->base = catalog_index(r->anchor) - r->back;
	} else {
		r->base = fuzz_u32(d);
	}
	switch (r->nmsrs_mode) {
	case MF_NMSRS_U8:
		r->nmsrs = fuzz_u8(d);
		break;
	case MF_NMSRS_U16:
		r->nmsrs = fuzz_u16(d);
		break;
	case MF_NMSRS_U32:
		r->nmsrs = fuzz_u32(d);
		break;
	default:
		r->nmsrs = nmsrs_table[fuzz_u8(d) % NMSRS_TABLE_SIZE];
		break;
	}
	r->arg = fuzz_u8(d);
	r->wild = r->place == FUZZ_PLACE_WILD ? fuzz_u64(d) : 0;
	r->pattern = fuzz_u8(d);
	r->nexplicit = fuzz_u8(d);
	fuzz_bytes(d, r->bytes, r->nexplicit);
}

static void decode_probe(struct fuzz_in *d, const struct mf_input *in, struct mf_probe *p)
{
	uint8_t ctl = fuzz_u8(d);
	uint32_t base, nmsrs;

	memset(p, 0, sizeof(*p));
	p->write = ctl & 1;
	p->src = src_of_code[(ctl >> 1) & 7];
	p->has_value = ctl & 0x10;
	switch (p->src) {
	case MF_SRC_CATALOG:
		p->sel = fuzz_u8(d);
		p->index = catalog_index(p->sel);
		break;
	case MF_SRC_EDGE:
		p->sel = fuzz_u8(d);
		selected_range(in, p->sel, &base, &nmsrs);
		p->index = edge_index(base, nmsrs, p->sel >> 5);
		break;
	case MF_SRC_X2APIC:
		p->sel = fuzz_u8(d);
		p->index = MSR_MODEL_X2APIC_FIRST + p->sel;
		break;
	case MF_SRC_RAW:
		p->index = fuzz_u32(d);
		break;
	default:
		p->sel = fuzz_u8(d);
		p->offset = fuzz_u16(d);
		selected_range(in, p->sel, &base, &nmsrs);
		p->index = base + (nmsrs ? p->offset % nmsrs : 0);
		break;
	}
	if (p->has_value)
		p->value = fuzz_u64(d);
}

static void decode(struct mf_input *in, const uint8_t *data, size_t size)
{
	struct fuzz_in d;
	uint8_t fctl;
	unsigned int i;

	residents_init();
	fuzz_in_init(&d, data, size);
	in->resident = fuzz_u8(&d) % nresidents;
	fctl = fuzz_u8(&d);
	in->cpuid = fctl & MF_CPUID_PRESENT ? MSR_CPUID_PRESENT : MSR_CPUID_ABSENT;
	in->raw_flags = fctl & 0x80;
	in->flags = in->raw_flags ? fuzz_u32(&d) :
		    (fctl & 1 ? KVM_MSR_FILTER_DEFAULT_DENY : KVM_MSR_FILTER_DEFAULT_ALLOW);
	in->nranges = fuzz_u8(&d) % (MF_MAX_RANGES + 1);
	in->nprobes = fuzz_u8(&d) % (MF_MAX_PROBES + 1);
	for (i = 0; i < in->nranges; i++)
		decode_range(&d, &in->ranges[i]);
	for (i = 0; i < in->nprobes; i++)
		decode_probe(&d, in, &in->probes[i]);
}

/* ---- encoding (seeds) ------------------------------------------------------ */

static void encode_range(struct fuzz_out *o, const struct mf_range *r)
{
	unsigned int fl, nm;

	if (r->flags == KVM_MSR_FILTER_READ)
		fl = 0;
	else if (r->flags == KVM_MSR_FILTER_WRITE)
		fl = 1;
	else if (r->flags == (KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE))
		fl = 2;
	else
		fl = 3;
	nm = r->nmsrs < 0x100 ? MF_NMSRS_U8 : r->nmsrs < 0x10000 ? MF_NMSRS_U16 : MF_NMSRS_U32;
	fuzz_put_u8(o, fl | r->place << 2 | nm << 5);
	if (fl == 3)
		fuzz_put_u32(o, r->flags);
	fuzz_put_u32(o, r->base);
	if (nm == MF_NMSRS_U8)
		fuzz_put_u8(o, r->nmsrs);
	else if (nm == MF_NMSRS_U16)
		fuzz_put_u16(o, r->nmsrs);
	else
		fuzz_put_u32(o, r->nmsrs);
	fuzz_put_u8(o, r->arg);
	if (r->place == FUZZ_PLACE_WILD)
		fuzz_put_u64(o, r->wild);
	fuzz_put_u8(o, r->pattern);
	fuzz_put_u8(o, r->nexplicit);
	fuzz_put_bytes(o, r->bytes, r->nexplicit);
}

/* A probe of @index: from the catalog if it is there, else raw. */
static void encode_probe(struct fuzz_out *o, bool write, uint32_t index, bool has_value,
			 uint64_t value)
{
	unsigned int i, src = MF_SRC_RAW;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (msr_catalog_table[i].index == index) {
			src = MF_SRC_CATALOG;
			break;
		}
	}
	fuzz_put_u8(o, write | src << 1 | has_value << 4);
	if (src == MF_SRC_CATALOG)
		fuzz_put_u8(o, i);
	else
		fuzz_put_u32(o, index);
	if (has_value)
		fuzz_put_u64(o, value);
}

static void encode_edge_probe(struct fuzz_out *o, bool write, uint8_t sel)
{
	fuzz_put_u8(o, write | MF_SRC_EDGE << 1);
	fuzz_put_u8(o, sel);
}

/* Header of an input; ranges and probes follow (mf_emit(): both CPUID states). */
static void encode_head(struct fuzz_out *o, unsigned int resident, uint32_t flags,
			unsigned int nranges, unsigned int nprobes)
{
	bool raw = flags & ~KVM_MSR_FILTER_DEFAULT_DENY;

	o->n = 0;
	fuzz_put_u8(o, resident);
	fuzz_put_u8(o, raw ? 0x80 : (flags & KVM_MSR_FILTER_DEFAULT_DENY ? 1 : 0));
	if (raw)
		fuzz_put_u32(o, flags);
	fuzz_put_u8(o, nranges);
	fuzz_put_u8(o, nprobes);
}

/* ---- the filter ------------------------------------------------------------ */

struct mf_filter {
	struct kvm_msr_filter kf;
	struct msr_model_mem_region regions[MF_MAX_RANGES];
	struct msr_model_mem mem;
};

static void build_filter(const struct mf_input *in, struct mf_filter *f)
{
	unsigned int i;

	memset(&f->kf, 0, sizeof(f->kf));
	f->kf.flags = in->flags;
	fuzz_bitmap_mem(f->regions, &f->mem);
	for (i = 0; i < in->nranges; i++) {
		const struct mf_range *r = &in->ranges[i];
		struct fuzz_bitmap b = { r->place, r->arg, r->wild, r->pattern, r->nexplicit,
					 r->bytes };

		f->kf.ranges[i] = (struct kvm_msr_filter_range){
			.flags = r->flags, .base = r->base, .nmsrs = r->nmsrs,
			.bitmap = (__u8 *)(uintptr_t)fuzz_bitmap_place(i, r->nmsrs, &b),
		};
	}
}

/* ---- VMs ------------------------------------------------------------------- */

struct mf_vm {
	bool live;
	struct msr_vm m;
	struct msr_facts facts[MSR_CATALOG_SIZE];
};

/* [resident][guest CPUID state][turn], flat, from mf_init() */
static struct mf_vm *vms;
static uint8_t vm_turn[MF_MAX_RESIDENTS][MSR_CPUID_STATES];

static void filter_sig(char *buf, size_t len, const char *what, enum msr_rule rule)
{
	char name[64];

	snprintf(buf, len, "filter.%s.%s", what, msr_div_rule_slug(name, sizeof(name), rule));
}

static void mf_vm_discard(struct mf_vm *vm)
{
	if (vm->live)
		msr_vm_free(&vm->m);
	vm->live = false;
}

/*
 * Install the resident filter again; false (and the VM discarded) if KVM
 * refuses a filter the model accepts.
 */
static bool install_resident(struct mf_vm *vm, const struct mf_resident *res, const char *when)
{
	char sig[FUZZ_SIG_LEN];
	int rc = fuzz_set_msr_filter(vm->m.g.vm, &res->filter, &vm->m.last_install_end_ns);

	if (!rc)
		return true;
	filter_sig(sig, sizeof(sig), "resident", MSR_RULE_FILTER_ACCEPTED);
	fuzz_divergence(sig, "KVM_X86_SET_MSR_FILTER of the resident filter %s (%s): errno %d (%s), "
			"model: accepted (rule FILTER_ACCEPTED)", res->spec->name, when, -rc,
			strerror(-rc));
	mf_vm_discard(vm);
	return false;
}

static bool mf_vm_create(struct mf_vm *vm, const struct mf_resident *res,
			 enum msr_cpuid_state cpuid)
{
	unsigned int i;
	int rc;

	memset(vm, 0, sizeof(*vm));
	msr_vm_create(&vm->m, cpuid, msr_image_pages());
	vm->live = true;
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		msr_catalog_facts(&vm->m.catalog.entries[i], &vm->m.model, &vm->facts[i]);
	/* The resident's install below may diverge: in this VM's setting. */
	fuzz_set_case(&vm->m.model);
	rc = __vm_enable_cap(vm->m.g.vm, KVM_CAP_X86_USER_SPACE_MSR, MF_EXIT_MASK);
	FUZZ_HARNESS_ASSERT(!rc, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR, %#x): %s",
			    MF_EXIT_MASK, strerror(errno));
	return install_resident(vm, res, "on a new VM");
}

/* The VM of this input: the two VMs of its resident and CPUID state take turns. */
static struct mf_vm *mf_vm_get(unsigned int resident, enum msr_cpuid_state cpuid)
{
	struct mf_vm *vm;

	vm_turn[resident][cpuid] ^= 1;
	vm = &vms[(resident * MSR_CPUID_STATES + cpuid) * 2 + vm_turn[resident][cpuid]];
	if (!vm->live && !mf_vm_create(vm, &residents[resident], cpuid))
		return NULL;
	/* Known divergences are matched in this VM's setting (guest CPUID...). */
	fuzz_set_case(&vm->m.model);
	return vm;
}

/* ---- probes ---------------------------------------------------------------- */

struct mf_ctx {
	const struct mf_input *in;
	struct mf_vm *vm;
	const struct mf_resident *res;
	struct msr_case_setting set;	/* set.filter: the state in force (model) */
	bool accepted;			/* the fuzzed filter is in force */
	struct msr_case c[MF_MAX_PROBES];
};

/*
 * Probe @i as a case: a catalog MSR writes its current value (an UNKNOWN
 * one, which has no handler, the input's); RDMSR exits are answered with
 * a distinctive value, every exit with error 0.
 */
static void plan_probe(struct mf_ctx *c, unsigned int i)
{
	const struct mf_probe *p = &c->in->probes[i];
	const struct msr_catalog_entry *e = msr_catalog_find(&c->vm->m.catalog, p->index);
	struct msr_case *k = &c->c[i];

	*k = (struct msr_case){
		.index = p->index, .access = p->write ? MSR_WRMSR : MSR_RDMSR, .value = p->value,
		.entry = e ? (int)(e - c->vm->m.catalog.entries) : -1,
		.answer.data = (uint64_t)(0xda7a0000u | i) << 32 | (0x5eed0000u ^ (p->index & 0xffff)),
	};
	if (e && e->class != MSR_CLASS_UNKNOWN)
		k->value = c->vm->facts[k->entry].rd_value;
	msr_case_predict(&c->set, k, e ? &c->vm->facts[k->entry] : NULL);
	fuzz_feedback(fuzz_key(MF_TAG_PROBE, k->first.rule, k->first.cause,
			       (k->access == MSR_WRMSR) | k->fv.rule << 1 | k->fv.allowed << 7 |
			       c->accepted << 8 | k->full << 9 | (p->src << 10)));
}

static const char *in_force_name(const struct mf_ctx *c)
{
	return c->accepted ? "the fuzzed filter (accepted)" :
			     "the resident filter (the fuzzed one was rejected)";
}

static bool probe_diverged(struct mf_ctx *c, unsigned int i, enum msr_check k)
{
	char what[320];

	snprintf(what, sizeof(what), "probe %u (from 0) of %u, with %s (resident %s), exit mask "
		 "INVAL|UNKNOWN|FILTER", i, c->in->nprobes, in_force_name(c), c->res->spec->name);
	return fuzz_case_diverged(&c->c[i], k, what);
}

/*
 * A WRMSR of an input value to an index without modelled handler went in
 * because the model's filter denies it; if KVM did not stop it with a
 * FILTER exit, it may have written anything: the VM cannot be trusted.
 */
static bool raw_write_escaped(const struct mf_ctx *c)
{
	unsigned int i;

	for (i = 0; i < c->in->nprobes; i++) {
		const struct msr_case *k = &c->c[i];

		if (k->kind != MSR_CASE_RAW || k->access != MSR_WRMSR)
			continue;
		if (k->exits != 1 || k->exit_reason != KVM_EXIT_X86_WRMSR ||
		    k->seen.reason != KVM_MSR_EXIT_REASON_FILTER)
			return true;
	}
	return false;
}

static void run_probes(struct mf_ctx *c)
{
	struct msr_case_run b = {
		.g = &c->vm->m.g, .c = c->c, .n = c->in->nprobes, .vcpu_run = fuzz_vcpu_run,
		.vcpu_run_once = fuzz_vcpu_run,
	};
	char run[512];
	unsigned int i;

	for (i = 0; i < b.n; i++)
		plan_probe(c, i);
	fuzz_stats.guest_ops += b.n;
	msr_case_run(&b);
	fuzz_stats.exits += b.exits;
	for (i = 0; i < b.n && c->c[i].ran; i++) {
		const struct msr_case *k = &c->c[i];
		struct msr_case_verdict v = msr_case_check(&c->set, k);

		fuzz_feedback(fuzz_key(MF_TAG_SEEN, k->exits ? k->exit_reason : 0,
				       k->exits ? k->seen.reason : 0,
				       k->r.vector | k->r.retired << 8 | k->full << 9));
		if (v.failed) {
			probe_diverged(c, i, msr_case_first(&v));
			if (raw_write_escaped(c) || b.end != MSR_RUN_OK)
				mf_vm_discard(c->vm);
			return;
		}
	}
	if (msr_case_run_clean(&b, run, sizeof(run)))
		return;
	fuzz_divergence("none.program.run", "%s, resident %s: %s", in_force_name(c),
			c->res->spec->name, run);
	mf_vm_discard(c->vm);
}

/* ---- one input -------------------------------------------------------------- */

static struct mf_input cur_in;
static struct mf_filter cur_filter;
static struct msr_model_filter_state *next_state;	/* from mf_init() */

static void feedback_filter(const struct mf_input *in, const struct mf_filter *f,
			    const struct msr_verdict *v)
{
	unsigned int i;

	fuzz_feedback(fuzz_key(MF_TAG_FILTER, v->rule, v->err,
			       (v->range >= 0 ? in->ranges[v->range].place : 0xff) |
			       !!(in->flags & KVM_MSR_FILTER_DEFAULT_DENY) << 8));
	for (i = 0; i < in->nranges; i++) {
		struct msr_verdict rv = msr_model_range_validate(&f->kf.ranges[i], &f->mem,
								 MSR_MODEL_KERNEL_LONG_BYTES);

		fuzz_feedback(fuzz_key(MF_TAG_RANGE, rv.rule, in->ranges[i].place,
				       in->ranges[i].place == FUZZ_PLACE_WILD ? in->ranges[i].arg & 3 :
				       in->ranges[i].nmsrs_mode));
	}
}

/*
 * A copy of @from as far as the model reads it (the ranges in use): the
 * library's guest-safe memcpy, which the whole binary uses, copies a byte
 * at a time, and the whole state is 25 KB.
 */
static void state_copy(struct msr_model_filter_state *to,
		       const struct msr_model_filter_state *from)
{
	memcpy(to, from, offsetof(struct msr_model_filter_state, ranges) +
			 from->count * sizeof(from->ranges[0]));
}

/*
 * api.rst 4.97: the filter applies to the guest only.  The first catalog
 * MSR the filter in force denies to the guest (read or write) is read and
 * written back with KVM_GET_MSRS / KVM_SET_MSRS: both must go through
 * (x86.c:kvm_msr_allowed() is not asked for host-initiated accesses).
 */
static void check_host_exempt(struct mf_ctx *c)
{
	const struct msr_model_filter_state *s = c->set.filter;
	int fd = c->vm->m.g.vcpu->fd;
	char sig[FUZZ_SIG_LEN];
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *e = &c->vm->m.catalog.entries[i];
		uint64_t v = 0;
		int r;

		if (!e->probe.host_readable || !e->probe.host_writable ||
		    (msr_model_filter_allows(s, e->index, KVM_MSR_FILTER_READ).allowed &&
		     msr_model_filter_allows(s, e->index, KVM_MSR_FILTER_WRITE).allowed))
			continue;
		fuzz_stats.ioctls += 2;
		r = msr_ioctl_one(fd, KVM_GET_MSRS, e->index, &v);
		if (r != 1) {
			fuzz_sig(sig, sizeof(sig), e->index, "get", "host_filtered");
			fuzz_divergence(sig, "KVM_GET_MSRS of %s (%#x) under a filter that denies it "
					"to the guest (%s): returned %d, expected 1 (rule %s)", e->name,
					e->index, in_force_name(c), r,
					msr_rule_name(MSR_RULE_FILTER_HOST_EXEMPT));
			return;
		}
		r = msr_ioctl_one(fd, KVM_SET_MSRS, e->index, &v);
		if (r != 1) {
			fuzz_sig(sig, sizeof(sig), e->index, "set", "host_filtered");
			fuzz_divergence(sig, "KVM_SET_MSRS of %s (%#x) = %#llx (its own value) under a "
					"filter that denies it to the guest (%s): returned %d, expected 1 "
					"(rule %s)", e->name, e->index, (unsigned long long)v,
					in_force_name(c), r, msr_rule_name(MSR_RULE_FILTER_HOST_EXEMPT));
		}
		return;
	}
}

static void mf_one(const uint8_t *data, size_t size)
{
	static struct mf_ctx c;
	const struct mf_resident *res;
	struct msr_verdict v;
	struct mf_vm *vm;
	char sig[FUZZ_SIG_LEN];
	int err;

	decode(&cur_in, data, size);
	res = &residents[cur_in.resident];
	vm = mf_vm_get(cur_in.resident, cur_in.cpuid);
	if (!vm)
		return;
	build_filter(&cur_in, &cur_filter);
	state_copy(next_state, &res->state);
	v = msr_model_filter_install(next_state, &cur_filter.kf, &cur_filter.mem);
	feedback_filter(&cur_in, &cur_filter, &v);

	err = -fuzz_set_msr_filter(vm->m.g.vm, &cur_filter.kf, &vm->m.last_install_end_ns);
	if (err != v.err) {
		filter_sig(sig, sizeof(sig), "set", v.rule);
		if (fuzz_divergence(sig, "KVM_X86_SET_MSR_FILTER of the fuzzed filter (resident %s): "
				    "errno %d (%s), model: %d (%s) by rule %s, ranges[%d] (%s)",
				    res->spec->name, err, err ? strerror(err) : "accepted", v.err,
				    v.err ? strerror(v.err) : "accepted", msr_rule_name(v.rule),
				    v.range, msr_rule_citation(v.rule))) {
			/* Whatever KVM holds now: the resident again. */
			install_resident(vm, res, "after a differing install");
			return;
		}
	}
	c.in = &cur_in;
	c.vm = vm;
	c.res = res;
	c.accepted = !v.err;
	c.set = (struct msr_case_setting){ next_state, MF_EXIT_MASK, &vm->m.model, !c.accepted };
	if (cur_in.nprobes)
		run_probes(&c);
	if (vm->live)
		check_host_exempt(&c);
	if (c.accepted && vm->live)
		install_resident(vm, res, "after the probes");
}

/* ---- describe ------------------------------------------------------------------- */

static void mf_describe(const uint8_t *data, size_t size, FILE *out)
{
	static struct mf_input in;
	static struct mf_filter f;
	struct msr_model_filter_state *st = malloc(sizeof(*st));
	struct msr_verdict v;
	char cpuid[400];
	unsigned int i;

	decode(&in, data, size);
	build_filter(&in, &f);
	FUZZ_HARNESS_ASSERT(st, "out of memory");
	*st = residents[in.resident].state;
	msr_cpuid_state_describe(cpuid, sizeof(cpuid), in.cpuid);
	fprintf(out, "    guest CPUID %s\n", cpuid);
	fprintf(out, "    resident filter: %s (WRMSR of a catalog MSR other than an UNKNOWN one writes "
		"its current value, not the input's)\n", residents[in.resident].spec->name);
	fprintf(out, "    fuzzed filter: flags %#x%s, %u range%s\n", in.flags,
		in.flags == KVM_MSR_FILTER_DEFAULT_DENY ? " (DEFAULT_DENY)" :
		in.flags ? " (invalid)" : " (DEFAULT_ALLOW)", in.nranges, in.nranges == 1 ? "" : "s");
	for (i = 0; i < in.nranges; i++) {
		const struct mf_range *r = &in.ranges[i];
		struct msr_verdict rv = msr_model_range_validate(&f.kf.ranges[i], &f.mem,
								 MSR_MODEL_KERNEL_LONG_BYTES);

		fprintf(out, "      [%u] flags %#x base %#x%s nmsrs %#x (%llu bitmap bytes), bitmap %s",
			i, r->flags, r->base, r->anchored ? " (catalog-anchored)" : "", r->nmsrs,
			(unsigned long long)msr_model_bitmap_bytes(r->nmsrs, MSR_MODEL_KERNEL_LONG_BYTES),
			fuzz_place_names[r->place]);
		if (r->place == FUZZ_PLACE_WILD)
			fprintf(out, " (%s)", fuzz_wild_names[r->arg & 3]);
		fprintf(out, " at %p (%llu readable), pattern %#04x, %u explicit bytes: model %s\n",
			(void *)f.kf.ranges[i].bitmap,
			(unsigned long long)msr_model_mem_readable(&f.mem,
					(uintptr_t)f.kf.ranges[i].bitmap),
			r->pattern, r->nexplicit, msr_rule_name(rv.rule));
	}
	v = msr_model_filter_install(st, &f.kf, &f.mem);
	fprintf(out, "    model: %s (%s, rule %s, ranges[%d])\n", v.err ? "rejected" : "accepted",
		v.err ? strerror(v.err) : "0", msr_rule_name(v.rule), v.range);
	for (i = 0; i < in.nprobes; i++) {
		const struct mf_probe *p = &in.probes[i];
		struct msr_filter_verdict fv = msr_model_filter_allows(st, p->index,
			p->write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ);

		fprintf(out, "    probe %u: %s %#x (%s; %s", i, p->write ? "WRMSR" : "RDMSR",
			p->index, msr_name(p->index), src_names[p->src]);
		if (p->src == MF_SRC_EDGE)
			fprintf(out, " %s of %s range %u", edge_names[p->sel >> 5],
				p->sel & 0x10 ? "resident" : "fuzzed", p->sel & 0xf);
		if (p->has_value)
			fprintf(out, ", input value %#llx", (unsigned long long)p->value);
		fprintf(out, "): filter in force %s (%s)\n", fv.allowed ? "allows" : "denies",
			msr_rule_name(fv.rule));
	}
	free(st);
}

/* ---- seeds -------------------------------------------------------------------- */

/*
 * Every seed in both guest CPUID states: as built (absent), and again with
 * MF_CPUID_PRESENT in fctl as "<name>_cpuid" (the present state decides
 * what the catalog's IBPB, FLUSH_L1D, ARCH_CAPABILITIES, TSC_AUX and EFER
 * bits do, so what the probes of an allowed access see).
 */
static void mf_emit(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	fuzz_emit_cpuid_states(e, name, o, 1, MF_CPUID_PRESENT);	/* byte 1: fctl */
}

static void seed_spec(struct fuzz_emit *e, const char *prefix, const struct msr_filter_spec *s,
		      unsigned int resident, unsigned int k)
{
	struct fuzz_out *o = malloc(sizeof(*o));
	char name[128];
	unsigned int i;

	FUZZ_HARNESS_ASSERT(o, "out of memory");
	encode_head(o, resident, s->flags, s->nranges, 5);
	for (i = 0; i < s->nranges; i++) {
		struct mf_range r = {
			.flags = s->ranges[i].flags, .base = s->ranges[i].base,
			.nmsrs = s->ranges[i].nmsrs, .place = FUZZ_PLACE_NORMAL,
			.pattern = s->ranges[i].pattern,
		};

		encode_range(o, &r);
	}
	/* Four of the filter probes, and an edge of the fuzzed filter's range 0. */
	for (i = 0; i < 4; i++) {
		const struct msr_filter_probe *p = &msr_filter_probes[(k + 3 * i) % MSR_FILTER_PROBES];

		encode_probe(o, p->write, p->index, false, 0);
	}
	encode_edge_probe(o, k & 1, (k % 8) << 5);
	snprintf(name, sizeof(name), "%s_%s", prefix, s->name);
	mf_emit(e, name, o);
	free(o);
}

/* One range over 0x0.. (deny), placed by @place, and probes that show it. */
static void seed_place(struct fuzz_emit *e, struct fuzz_out *o, unsigned int resident,
		       enum fuzz_place place, uint8_t arg, uint64_t wild, uint32_t nmsrs)
{
	struct mf_range r = {
		.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .base = 0, .nmsrs = nmsrs,
		.place = place, .arg = arg, .wild = wild, .pattern = 0x00,
	};
	char name[96];

	encode_head(o, resident, 0, 1, 4);
	encode_range(o, &r);
	encode_probe(o, false, 0x3, false, 0);
	encode_probe(o, true, 0x3, true, 0x1234);
	encode_probe(o, false, 0x7ff, false, 0);
	encode_probe(o, false, MSR_CAT_EFER, false, 0);
	snprintf(name, sizeof(name), "place_%s%s%s_nmsrs_%#x", fuzz_place_names[place],
		 place == FUZZ_PLACE_WILD ? "_" : "",
		 place == FUZZ_PLACE_WILD ? fuzz_wild_names[arg & 3] : "", nmsrs);
	mf_emit(e, name, o);
}

static void mf_seeds(struct fuzz_emit *e)
{
	static const uint32_t sizes[] = { 1, 64, 65, 0x3000, 0x3001 };
	struct fuzz_out *o = malloc(sizeof(*o));
	unsigned int i, j, k = 0;
	char name[96];

	FUZZ_HARNESS_ASSERT(o, "out of memory");
	residents_init();

	/* Every spec over another resident. */
	for (i = 0; i < MSR_COMPAT_FILTER_SPECS; i++, k++)
		seed_spec(e, "compat", &msr_compat_filter_specs[i], (k + 1) % nresidents, k);
	for (i = 0; i < MSR_SEMANTIC_FILTER_SPECS; i++, k++)
		seed_spec(e, "semantic", &msr_semantic_filter_specs[i], (k + 1) % nresidents, k);
	for (i = 0; i < 2; i++, k++)
		seed_spec(e, "swap", &msr_swap_filter_specs[i], (k + 1) % nresidents, k);
	for (i = 0; i < MSR_MATRIX_FILTER_SPECS; i++, k++)
		seed_spec(e, "matrix", &msr_matrix_filter_specs[i], (k + 1) % nresidents, k);

	/* Bitmap placements around the size rules. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = FUZZ_PLACE_NORMAL; j < FUZZ_PLACE_WILD; j++)
			seed_place(e, o, i + j, j, j == FUZZ_PLACE_TRUNCATED ? 0 : 7, 0, sizes[i]);
		for (j = 0; j < 4; j++)
			seed_place(e, o, i + j, FUZZ_PLACE_WILD, j, 0x1234567890abcdefull, sizes[i]);
	}

	/* Every filter flag bit and every range flag bit alone. */
	for (i = 0; i < 32; i++) {
		struct mf_range r = {
			.flags = KVM_MSR_FILTER_READ, .base = 0, .nmsrs = 0x800,
			.pattern = 0x00,
		};

		encode_head(o, i, 1u << i, 1, 2);
		encode_range(o, &r);
		encode_probe(o, false, 0x3, false, 0);
		encode_probe(o, true, 0x3, false, 0);
		snprintf(name, sizeof(name), "filter_flags_bit_%u", i);
		mf_emit(e, name, o);

		r.flags = 1u << i;
		encode_head(o, i, 0, 1, 2);
		encode_range(o, &r);
		encode_probe(o, false, 0x3, false, 0);
		encode_probe(o, true, 0x3, false, 0);
		snprintf(name, sizeof(name), "range_flags_bit_%u", i);
		mf_emit(e, name, o);
	}

	/* 16 ranges, each denying one access to one UNKNOWN-ish index. */
	encode_head(o, 0, KVM_MSR_FILTER_DEFAULT_ALLOW, MF_MAX_RANGES, MF_MAX_PROBES);
	for (i = 0; i < MF_MAX_RANGES; i++) {
		struct mf_range r = {
			.flags = i & 1 ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ,
			.base = 0x900 + i / 2, .nmsrs = 1, .place = i % 2 ? FUZZ_PLACE_GUARD_END :
			FUZZ_PLACE_NORMAL, .pattern = 0x00,
		};

		encode_range(o, &r);
	}
	for (i = 0; i < MF_MAX_PROBES; i++)
		encode_probe(o, i & 1, 0x900 + i / 2, true, i);
	mf_emit(e, "sixteen_ranges", o);

	/* Every catalog MSR: denied by a range of its own, then read and written. */
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		const struct msr_catalog_entry *c = &msr_catalog_table[i];
		struct mf_range r = {
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .base = c->index,
			.nmsrs = 1, .place = FUZZ_PLACE_GUARD_END, .pattern = 0x00,
		};

		encode_head(o, i, 0, 1, 4);
		encode_range(o, &r);
		encode_probe(o, false, c->index, false, 0);
		encode_probe(o, true, c->index, true, 0x5a5a5a5a);
		encode_edge_probe(o, false, MF_EDGE_BELOW << 5);
		encode_edge_probe(o, false, MF_EDGE_END << 5);
		snprintf(name, sizeof(name), "deny_%s", c->name);
		mf_emit(e, name, o);

		/* The same accesses with the fuzzed filter rejected. */
		encode_head(o, i, KVM_MSR_FILTER_DEFAULT_DENY, 0, 2);
		encode_probe(o, false, c->index, false, 0);
		encode_probe(o, true, c->index, true, 0xa5a5a5a5);
		snprintf(name, sizeof(name), "rejected_%s", c->name);
		mf_emit(e, name, o);
	}
	free(o);

	fuzz_emit_catalog_tokens(e);
	for (i = 0; i < NMSRS_TABLE_SIZE; i++) {
		snprintf(name, sizeof(name), "nmsrs_%#x", nmsrs_table[i]);
		e->token(e, name, &nmsrs_table[i], sizeof(nmsrs_table[i]));
	}
}

/* ---- init / reset / fini ----------------------------------------------------- */

static void mf_init(void)
{
	if (!kvm_has_cap(KVM_CAP_X86_MSR_FILTER) || !kvm_has_cap(KVM_CAP_X86_USER_SPACE_MSR)) {
		fprintf(stderr, "SKIP: msr fuzz msr_filter: KVM_CAP_X86_MSR_FILTER or "
			"KVM_CAP_X86_USER_SPACE_MSR missing\n");
		exit(FUZZ_EXIT_SKIP);
	}
	residents_init();
	vms = calloc(MF_MAX_RESIDENTS * MSR_CPUID_STATES * 2, sizeof(*vms));
	next_state = malloc(sizeof(*next_state));
	FUZZ_HARNESS_ASSERT(vms && next_state, "out of memory");
}

/* After fork: the parent's VMs are not ours (KVM refuses them); forget them. */
static void mf_reset(void)
{
	if (vms)
		memset(vms, 0, MF_MAX_RESIDENTS * MSR_CPUID_STATES * 2 * sizeof(*vms));
}

static void mf_fini(void)
{
	unsigned int i;

	for (i = 0; vms && i < MF_MAX_RESIDENTS * MSR_CPUID_STATES * 2; i++)
		mf_vm_discard(&vms[i]);
}

const struct fuzz_target fuzz_target_msr_filter = {
	.name = "msr_filter",
	.summary = "KVM_X86_SET_MSR_FILTER (flags, ranges, bitmap placement) and guest probes "
		   "against the model; a rejected filter leaves the previous one",
	.max_len = 4096,
	.init = mf_init,
	.reset = mf_reset,
	.one = mf_one,
	.describe = mf_describe,
	.seeds = mf_seeds,
	.fini = mf_fini,
};
