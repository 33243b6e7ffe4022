// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target msrs_ioctl: KVM_GET_MSRS / KVM_SET_MSRS on vCPU fds and on the
 * system fd with fuzzed arrays, and KVM_GET_MSR_INDEX_LIST /
 * KVM_GET_MSR_FEATURE_INDEX_LIST with fuzzed sizes, against the model
 * (msr_model_msrs_io(), msr_model_host_access(), msr_model_index_list()).
 *
 * Input format (decoding is total: reads past the end are zeros; an empty
 * input is zero calls):
 *
 *   input := call*                       (up to MI_MAX_CALLS, until the end)
 *   call  := u8 kind, body
 *     kind & 0x3f, mod 6: 0 vCPU GET, 1 vCPU SET, 2 system GET, 3 system SET,
 *                         4 KVM_GET_MSR_INDEX_LIST,
 *                         5 KVM_GET_MSR_FEATURE_INDEX_LIST
 *                         (index list instead when KVM lacks
 *                         KVM_CAP_GET_MSR_FEATURES)
 *     kind & 0xc0:        the vCPU, GET/SET on a vCPU only (the system fd
 *                         and the lists have no guest CPUID; the bits are
 *                         ignored there).  kind & 0x80: one that has run
 *                         KVM_RUN once (msr_io_facts.vcpu_has_run), else one
 *                         that never ran; kind & 0x40: one whose guest CPUID
 *                         (lib/msr_host.h) is present (the toggled features
 *                         KVM supports), else absent (none: the same vCPU on
 *                         every host).  vCPU number = (kind >> 7) |
 *                         (kind & 0x40 ? 2 : 0): 0 absent, never ran;
 *                         1 absent, has run; 2 present, never ran;
 *                         3 present, has run.  Before the present bit
 *                         existed the op was (kind & 0x7f) % 6: an input
 *                         whose kinds have bit 6 clear (every saved
 *                         regression) decodes to the same calls, on vCPUs
 *                         0 and 1 (vCPU 1 then had the library's CPUID,
 *                         KVM_GET_SUPPORTED_CPUID; now it is absent too).
 *   body of GET/SET := u8 size, [u8 or u32 by size], entry*
 *     size < 0xe0:        nmsrs = size & 0xf, that many entries follow
 *     0xe0..0xef:         nmsrs = 250 + (size & 0xf) (the MAX_IO_MSRS edge),
 *                         u8 n, then 1 + (n & 7) entries, repeated to fill
 *     0xf0..0xff:         u32 nmsrs (raw), u8 n, 1 + (n & 7) entries, repeated
 *   entry := u8 sel, index arg, [u64 value arg], [u32 reserved]
 *     sel & 3:            0, 3 catalog entry: u8 (mod MSR_CATALOG_SIZE);
 *                         1 listed index: u16 (mod the list's length; the
 *                         index list for a vCPU, the feature list for the
 *                         system fd); 2 raw index: u32
 *     (sel >> 2) & 3:     value (SET) or pre-filled data (GET): 0, 3 the
 *                         current value; 1 current ^ u64; 2 raw u64
 *     sel & 0x10:         u32 garbage in kvm_msr_entry.reserved
 *   body of a list := u8 s
 *     s & 3:              0 nmsrs = s >> 2; 1 true count + (s >> 2) - 32;
 *                         2 u32 nmsrs follows (raw); 3 the true count
 *
 * Typical input: 2-3 calls of up to 8 entries (20-80 bytes): 2-4 ioctls
 * (the calls, a read-back GET unless a GET of the input already read the
 * values back, a restoring SET if a value changed), no KVM_RUN.  The only
 * KVM_RUNs are vCPU 1's and vCPU 3's, once per process.  All four vCPUs
 * are in one VM (the CPUID is per vCPU), created with it; an input uses
 * only the vCPUs its calls name.
 *
 * Oracle.  Catalog MSRs (lib/msr_catalog.c) have curated facts plus values
 * probed once per process on each vCPU (lib/msr_probe.c) and tracked as the
 * model says SETs change them.  Indices outside the catalog have no curated
 * facts: they are "facts probed from KVM itself", once per vCPU (and for
 * the system fd) with single-entry ioctls, cached: one GET (and a second
 * one: a value that changes between two reads is volatile and its data is
 * not compared), and a SET of the value read (0 if unreadable).  A SET entry
 * outside the catalog always writes that probed value back, so nothing but
 * catalog MSRs ever changes; the value selectors apply to catalog MSRs.
 * Checks there are about the batch protocol, not about the MSR: the count
 * is the first failing entry, a failed GET entry reads 0, later entries are
 * untouched, and the batch answers like the single-entry ioctl.  Where they
 * differ, the entry is asked again with a single-entry ioctl at that point:
 * if KVM answers the same, the probed fact was stale (no finding, the cache
 * is updated); otherwise the batch disagrees with KVM itself: a finding.
 *
 * Checked per call: the return value (count, -E2BIG, -EINVAL), every entry
 * of the array (data, index, reserved; copy-back only for GET), the list
 * size protocol (errno, nmsrs written back, indices copied or untouched,
 * nothing written past the true count; once per process, no index listed
 * twice: <msr>.list.unique).  Per input: every catalog MSR a SET
 * stored reads back what the model says is stored (one GET per vCPU; a
 * vCPU GET later in the input that read it counts).  The probed facts are
 * forgotten when their table is half full (probed again on use).
 *
 * Run with MSRS_IOCTL_STATS=1 for exec/s, ioctls per input, probe ioctls
 * and stale probed facts at exit.
 *
 * Determinism: every input starts from the same vCPU state.  The catalog
 * values at VM creation are the snapshot; after an input one KVM_SET_MSRS
 * per vCPU writes back every catalog MSR it changed (after a divergence:
 * all the writable ones).  If that fails the VMs are recreated.
 *
 * Within one SET batch the model's msr_model_msrs_io() sees the values from
 * before the batch; only the immutability rule depends on them and
 * immutable MSRs cannot change after KVM_RUN, so the count it predicts is
 * exact; the values stored are then computed entry by entry.
 *
 * Signatures: "<msr>.<get|set|system_get|system_set>.<count|data|entry>",
 * "<msr>.set.readback", "none.<op>.<errno|count>" (E2BIG/EINVAL level, or
 * a count past nmsrs),
 * "none.<list|feature_list>.<errno|nmsrs|indices>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fuzz.h"
#include "msr_catalog.h"
#include "msr_guest.h"
#include "msr_host.h"
#include "msr_names.h"
#include "msr_probe.h"

#define MI_MAX_CALLS	16
#define MI_MAX_DESC	16		/* entries an input describes per call */
#define MI_ROOM		(MSR_MODEL_MAX_IO_MSRS + 4)	/* entries in the array */
#define MI_NC_SLOTS	1024		/* cached facts of non-catalog indices */
#define MI_LIST_SLACK	64		/* sentinel indices past the true count */
#define MI_SENTINEL	0x5a5a5a5au
#define MI_VCPUS	4		/* {absent, present} x {never ran, has run} */
#define MI_KIND_PRESENT	0x40		/* kind: a vCPU with the guest CPUID present */
#define MI_KIND_RAN	0x80		/* kind: a vCPU that has run */

enum mi_kind {
	MI_VCPU_GET,
	MI_VCPU_SET,
	MI_SYS_GET,
	MI_SYS_SET,
	MI_INDEX_LIST,
	MI_FEATURE_LIST,
	MI_KINDS
};

enum mi_isel { MI_IDX_CATALOG, MI_IDX_LISTED, MI_IDX_RAW, MI_IDX_CATALOG2 };
enum mi_vsel { MI_VAL_CURRENT, MI_VAL_FLIP, MI_VAL_RAW, MI_VAL_CURRENT2 };

struct mi_desc {
	uint8_t isel, vsel;
	uint32_t iarg;
	uint64_t varg;
	uint32_t reserved;
};

struct mi_call {
	uint8_t kind;			/* enum mi_kind */
	uint8_t vcpu;			/* bit 0 ran once, bit 1 guest CPUID present */
	uint8_t list_mode;
	uint32_t nmsrs;			/* GET/SET; list: argument of list_mode */
	uint8_t nent;
	struct mi_desc e[MI_MAX_DESC];
};

struct mi_input {
	unsigned int ncalls;
	struct mi_call calls[MI_MAX_CALLS];
};

/* ---- decoding (pure: also used by describe) ------------------------------ */

static void mi_decode_entry(struct fuzz_in *in, struct mi_desc *d)
{
	uint8_t sel = fuzz_u8(in);

	memset(d, 0, sizeof(*d));
	d->isel = sel & 3;
	d->vsel = (sel >> 2) & 3;
	switch (d->isel) {
	case MI_IDX_LISTED:
		d->iarg = fuzz_u16(in);
		break;
	case MI_IDX_RAW:
		d->iarg = fuzz_u32(in);
		break;
	default:
		d->iarg = fuzz_u8(in);
		break;
	}
	if (d->vsel == MI_VAL_FLIP || d->vsel == MI_VAL_RAW)
		d->varg = fuzz_u64(in);
	if (sel & 0x10)
		d->reserved = fuzz_u32(in);
}

static void mi_decode(const uint8_t *data, size_t size, struct mi_input *inp)
{
	struct fuzz_in in;
	unsigned int i;

	fuzz_in_init(&in, data, size);
	inp->ncalls = 0;
	while (inp->ncalls < MI_MAX_CALLS && fuzz_in_left(&in)) {
		struct mi_call *c = &inp->calls[inp->ncalls++];
		uint8_t k = fuzz_u8(&in), s;

		c->kind = (k & 0x3f) % MI_KINDS;
		c->vcpu = (k & MI_KIND_RAN ? 1 : 0) | (k & MI_KIND_PRESENT ? 2 : 0);
		c->list_mode = 0;
		c->nent = 0;
		s = fuzz_u8(&in);
		if (c->kind == MI_INDEX_LIST || c->kind == MI_FEATURE_LIST) {
			c->list_mode = s & 3;
			c->nmsrs = c->list_mode == 2 ? fuzz_u32(&in) : s >> 2;
			continue;
		}
		if (s < 0xe0) {
			c->nmsrs = s & 0xf;
			c->nent = c->nmsrs;
		} else {
			c->nmsrs = s < 0xf0 ? 250u + (s & 0xf) : fuzz_u32(&in);
			c->nent = 1 + (fuzz_u8(&in) & 7);
		}
		for (i = 0; i < c->nent; i++)
			mi_decode_entry(&in, &c->e[i]);
	}
}

static const char *const mi_kind_names[MI_KINDS] = {
	[MI_VCPU_GET] = "vCPU KVM_GET_MSRS",
	[MI_VCPU_SET] = "vCPU KVM_SET_MSRS",
	[MI_SYS_GET] = "system KVM_GET_MSRS",
	[MI_SYS_SET] = "system KVM_SET_MSRS",
	[MI_INDEX_LIST] = "KVM_GET_MSR_INDEX_LIST",
	[MI_FEATURE_LIST] = "KVM_GET_MSR_FEATURE_INDEX_LIST",
};

static int cat_pos(uint32_t index);

static void mi_describe(const uint8_t *data, size_t size, FILE *out)
{
	static const char *const lm[] = { "nmsrs %u", "true count %+d", "nmsrs %u (raw)",
					   "the true count" };
	static struct mi_input inp;
	unsigned int i, j;

	mi_decode(data, size, &inp);
	fprintf(out, "    %u calls\n", inp.ncalls);
	for (i = 0; i < inp.ncalls; i++) {
		const struct mi_call *c = &inp.calls[i];

		fprintf(out, "    call %u: %s", i, mi_kind_names[c->kind]);
		if (c->kind == MI_INDEX_LIST || c->kind == MI_FEATURE_LIST) {
			fprintf(out, ", ");
			fprintf(out, lm[c->list_mode],
				c->list_mode == 1 ? (int)c->nmsrs - 32 : (int)c->nmsrs);
			fprintf(out, "\n");
			continue;
		}
		if (c->kind == MI_VCPU_GET || c->kind == MI_VCPU_SET)
			fprintf(out, " on vCPU %u (%s, guest CPUID %s)", c->vcpu,
				c->vcpu & 1 ? "has run" : "never ran",
				msr_cpuid_state_name(c->vcpu & 2 ? MSR_CPUID_PRESENT :
						     MSR_CPUID_ABSENT));
		fprintf(out, ", nmsrs %u, %u described entries%s\n", c->nmsrs, c->nent,
			c->nent < c->nmsrs ? " (repeated)" : "");
		for (j = 0; j < c->nent; j++) {
			const struct mi_desc *d = &c->e[j];
			const struct msr_catalog_entry *ce =
				&msr_catalog_table[d->iarg % MSR_CATALOG_SIZE];

			fprintf(out, "      [%u] ", j);
			if (d->isel == MI_IDX_LISTED)
				fprintf(out, "listed[%u]", d->iarg);
			else if (d->isel == MI_IDX_RAW)
				fprintf(out, "index %#x", d->iarg);
			else
				fprintf(out, "%s (%#x)", ce->name, ce->index);
			if (d->vsel == MI_VAL_FLIP)
				fprintf(out, ", current ^ %#llx", (unsigned long long)d->varg);
			else if (d->vsel == MI_VAL_RAW)
				fprintf(out, ", %#llx", (unsigned long long)d->varg);
			else
				fprintf(out, ", current value");
			fprintf(out, ", reserved %#x%s\n", d->reserved,
				c->kind == MI_VCPU_SET && d->isel == MI_IDX_RAW &&
				cat_pos(d->iarg) < 0 ?
				" (outside the catalog: writes back the value read)" : "");
		}
	}
}

/* ---- per-process state ------------------------------------------------------ */

/* Facts of an index outside the catalog, probed from KVM itself. */
struct mi_nc {
	uint32_t index;
	bool used, readable, writable, volatile_;
	uint64_t value;			/* value read; SET writes it back */
};

struct mi_vcpu {
	struct guest_msr_vcpu g;
	unsigned int id;		/* S.v[id]: bit 0 has_run, bit 1 present */
	bool has_run;
	struct msr_catalog cat;		/* probe.host_value: the model's current value */
	uint64_t snap[MSR_CATALOG_SIZE];	/* values at creation */
	bool dirty[MSR_CATALOG_SIZE];	/* changed since the last restore */
	bool readback[MSR_CATALOG_SIZE];	/* a SET stored it in this input */
	bool any_dirty, any_readback;
	struct msr_vcpu_model model;
	struct msr_catalog_ctx cctx;
	struct msr_io_facts io;
	struct mi_nc nc[MI_NC_SLOTS];
	unsigned int nc_used;
	int fd;
};

struct mi_list {
	uint32_t count;
	uint32_t *indices;
	struct kvm_msr_list *buf;	/* room for count + MI_LIST_SLACK */
};

static struct {
	bool ready;
	struct mi_vcpu v[MI_VCPUS];
	int kvm_fd;
	bool features;
	struct mi_nc sys_nc[MI_NC_SLOTS];
	unsigned int sys_nc_used;
	struct msr_io_facts sys_io;
	struct mi_list lists[2];	/* index list, feature list */
	__u32 kernel;		/* msr_io_facts.kernel */
} S;

/*
 * The system fd's lookup context: vCPU 0's catalog (its system facts; the
 * system fd has no guest CPUID, and vCPU 0's is absent).
 */
struct mi_ctx {
	struct mi_vcpu *v;
	bool system;
};

static struct mi_ctx ctx_vcpu[MI_VCPUS], ctx_sys;
static uint64_t mi_probes;		/* ioctls spent probing facts */
static uint64_t mi_stale;		/* probed facts KVM itself no longer answers */

/*
 * fuzz_feedback() once per distinct key and input: under libFuzzer each
 * call costs microseconds (its switch is traced case by case).
 */
static uint32_t fb_keys[32];
static unsigned int fb_n;

static void fb(uint32_t key)
{
	unsigned int i;

	for (i = 0; i < fb_n; i++)
		if (fb_keys[i] == key)
			return;
	if (fb_n < 32)
		fb_keys[fb_n++] = key;
	fuzz_feedback(key);
}

struct mi_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[MI_ROOM];
};

static struct mi_buf b_in, b_want, b_got;

#define MI_CAT_HASH	64

static int8_t cat_hash[MI_CAT_HASH];	/* catalog position + 1, 0: empty */

static unsigned int cat_slot(uint32_t index)
{
	return (index * 0x9e3779b1u) >> 26;
}

/* The catalog position of @index, or -1 (called per entry, several times). */
static int cat_pos(uint32_t index)
{
	unsigned int h, i;

	if (!cat_hash[cat_slot(msr_catalog_table[0].index)]) {
		for (i = 0; i < MSR_CATALOG_SIZE; i++) {
			for (h = cat_slot(msr_catalog_table[i].index); cat_hash[h];
			     h = (h + 1) % MI_CAT_HASH)
				;
			cat_hash[h] = i + 1;
		}
	}
	for (h = cat_slot(index); cat_hash[h]; h = (h + 1) % MI_CAT_HASH)
		if (msr_catalog_table[cat_hash[h] - 1].index == index)
			return cat_hash[h] - 1;
	return -1;
}

static struct mi_nc *nc_slot(struct mi_nc *t, unsigned int *used, uint32_t index, bool insert)
{
	uint32_t h = (index * 0x9e3779b1u) >> 22, i;

	for (i = 0; i < MI_NC_SLOTS; i++) {
		struct mi_nc *s = &t[(h + i) % MI_NC_SLOTS];

		if (s->used && s->index == index)
			return s;
		if (!s->used) {
			if (!insert)
				return NULL;
			(*used)++;
			s->used = true;
			s->index = index;
			return s;
		}
	}
	return NULL;
}

static void nc_probe_into(struct mi_nc *s, int fd, bool system)
{
	uint64_t d1 = 0, d2 = 0, w;

	mi_probes += system ? 2 : 3;

	fuzz_stats.ioctls++;
	s->readable = msr_ioctl_one(fd, KVM_GET_MSRS, s->index, &d1) == 1;
	s->value = s->readable ? d1 : 0;
	if (s->readable) {
		fuzz_stats.ioctls++;
		s->volatile_ = msr_ioctl_one(fd, KVM_GET_MSRS, s->index, &d2) != 1 || d2 != d1;
	}
	if (system) {
		s->writable = false;
		return;
	}
	w = s->value;
	fuzz_stats.ioctls++;
	s->writable = msr_ioctl_one(fd, KVM_SET_MSRS, s->index, &w) == 1;
}

/* Facts of @index outside the catalog for a vCPU or the system fd (probed once). */
static struct mi_nc *nc_get(const struct mi_ctx *c, uint32_t index)
{
	struct mi_nc *s;

	if (c->system)
		s = nc_slot(S.sys_nc, &S.sys_nc_used, index, false);
	else
		s = nc_slot(c->v->nc, &c->v->nc_used, index, false);
	if (s)
		return s;
	if (c->system)
		s = nc_slot(S.sys_nc, &S.sys_nc_used, index, true);
	else
		s = nc_slot(c->v->nc, &c->v->nc_used, index, true);
	FUZZ_HARNESS_ASSERT(s, "no slot for %#x", index);
	nc_probe_into(s, c->system ? S.kvm_fd : c->v->fd, c->system);
	return s;
}

/* msr_host_lookup_t: the catalog, else the probed facts. */
static struct msr_host_answer mi_lookup(const void *ctx, enum msr_scope scope, enum msr_io_op op,
					__u32 index, __u64 data)
{
	const struct mi_ctx *c = ctx;
	struct msr_host_answer a = { .handler = MSR_HANDLER_UNSUPPORTED };
	struct mi_nc *s;

	if (cat_pos(index) >= 0)
		return msr_catalog_host_lookup(&c->v->cctx, scope, op, index, data);
	s = c->system ? nc_slot(S.sys_nc, &S.sys_nc_used, index, false) :
			nc_slot(c->v->nc, &c->v->nc_used, index, false);
	FUZZ_HARNESS_ASSERT(s, "index %#x used before its facts were probed", index);
	a.value = s->value;
	if (op == MSR_IO_GET)
		a.handler = s->readable ? MSR_HANDLER_OK : MSR_HANDLER_FAULT;
	else
		a.handler = s->writable && data == s->value ? MSR_HANDLER_OK : MSR_HANDLER_FAULT;
	return a;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* api.rst 4.3: a list of MSRs; one listed twice is a divergence (once per process). */
static void check_unique(unsigned long cmd, const struct mi_list *l)
{
	__u32 *s = calloc(l->count + 1, sizeof(*s));
	char sig[FUZZ_SIG_LEN];
	uint32_t i;

	FUZZ_HARNESS_ASSERT(s, "out of memory");
	memcpy(s, l->indices, l->count * sizeof(*s));
	qsort(s, l->count, sizeof(*s), cmp_u32);
	for (i = 1; i < l->count; i++) {
		if (s[i] != s[i - 1])
			continue;
		fuzz_sig(sig, sizeof(sig), s[i],
			 cmd == KVM_GET_MSR_FEATURE_INDEX_LIST ? "feature_list" : "list", "unique");
		fuzz_divergence(sig, "%s lists %s (%#x) more than once (%u entries)",
				cmd == KVM_GET_MSR_FEATURE_INDEX_LIST ? "KVM_GET_MSR_FEATURE_INDEX_LIST" :
				"KVM_GET_MSR_INDEX_LIST", msr_name(s[i]), s[i], l->count);
		break;
	}
	free(s);
}

static int fetch_list(unsigned long cmd, struct mi_list *l)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	uint32_t i;

	if (ioctl(S.kvm_fd, cmd, &probe) == 0 || errno != E2BIG)
		return -1;
	l->count = probe.nmsrs;
	l->buf = calloc(1, sizeof(*l->buf) + (l->count + MI_LIST_SLACK) * sizeof(__u32));
	l->indices = calloc(l->count + 1, sizeof(__u32));
	FUZZ_HARNESS_ASSERT(l->buf && l->indices, "out of memory");
	l->buf->nmsrs = l->count;
	FUZZ_HARNESS_ASSERT(ioctl(S.kvm_fd, cmd, l->buf) == 0 && l->buf->nmsrs == l->count,
			    "MSR list ioctl %#lx failed with the size it reported (%u)", cmd,
			    l->count);
	for (i = 0; i < l->count; i++)
		l->indices[i] = l->buf->indices[i];
	check_unique(cmd, l);
	return 0;
}

static void vcpu_setup(struct mi_vcpu *v, unsigned int id)
{
	struct msr_host_info host;
	unsigned int i;

	v->id = id;
	v->has_run = id & 1;
	v->fd = v->g.vcpu->fd;
	msr_catalog_init(&v->cat);
	msr_probe_catalog(&v->cat, v->g.vcpu);
	msr_host_info_get(&host);
	msr_vcpu_model_from_host(&v->model, &host, v->g.vcpu);
	v->cctx = (struct msr_catalog_ctx){ &v->cat, &v->model };
	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		v->snap[i] = v->cat.entries[i].probe.host_value;
	memset(v->nc, 0, sizeof(v->nc));
	v->nc_used = 0;
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

static uint64_t mi_t0;

/* MSRS_IOCTL_STATS=1: per-input operation counts at exit (for the bench figures). */
static void mi_stats(void)
{
	double s = (msr_now_ns() - mi_t0) / 1e9;

	fprintf(stderr, "# msrs_ioctl: %llu inputs in %.2f s (%.0f/s), %.2f ioctls per input "
		"(%.2f probe ioctls), %llu known divergences, %llu stale probed facts\n",
		(unsigned long long)fuzz_stats.inputs, s, fuzz_stats.inputs / s,
		(double)fuzz_stats.ioctls / (fuzz_stats.inputs ? fuzz_stats.inputs : 1),
		(double)mi_probes / (fuzz_stats.inputs ? fuzz_stats.inputs : 1),
		(unsigned long long)fuzz_stats.known, (unsigned long long)mi_stale);
}

/* The guest CPUID state of S.v[@id]. */
static enum msr_cpuid_state vcpu_cpuid(unsigned int id)
{
	return id & 2 ? MSR_CPUID_PRESENT : MSR_CPUID_ABSENT;
}

static const char *vcpu_name(const struct mi_vcpu *v)
{
	static const char *const names[MI_VCPUS] = {
		"vCPU 0 (never ran, guest CPUID absent)", "vCPU 1 (has run, guest CPUID absent)",
		"vCPU 2 (never ran, guest CPUID present)", "vCPU 3 (has run, guest CPUID present)",
	};

	return names[v->id];
}

static void mi_create(void)
{
	struct kvm_regs regs;
	struct kvm_run *run;
	unsigned int i;
	int r;

	memset(&S, 0, sizeof(S));
	S.kernel = msr_host_kernel();
	S.kvm_fd = open_kvm_dev_path_or_exit();
	S.features = kvm_has_cap(KVM_CAP_GET_MSR_FEATURES);
	FUZZ_HARNESS_ASSERT(!fetch_list(KVM_GET_MSR_INDEX_LIST, &S.lists[0]),
			    "KVM_GET_MSR_INDEX_LIST size probe failed");
	if (S.features)
		FUZZ_HARNESS_ASSERT(!fetch_list(KVM_GET_MSR_FEATURE_INDEX_LIST, &S.lists[1]),
				    "KVM_GET_MSR_FEATURE_INDEX_LIST size probe failed");

	/* Memory for the stacks of vCPUs 1-3 besides the image. */
	guest_msr_vcpu_create_extra(&S.v[0].g, image_pages() + (MI_VCPUS - 1) * DEFAULT_STACK_PGS);
	/*
	 * vCPUs 1 and 3 run once: vCPU 0's empty program (vCPUs 0 and 2 never
	 * run), which ends at the done port.  They share the program (the VM
	 * is sized for one vCPU's program).  Each gets its guest CPUID before
	 * that KVM_RUN and before the probe: vm_vcpu_add() gives the library's
	 * (KVM_GET_SUPPORTED_CPUID, host dependent), so vCPU 1 is set absent
	 * as explicitly as 2 and 3 are set present.
	 */
	vcpu_regs_get(S.v[0].g.vcpu, &regs);
	guest_msr_prog_clear(&S.v[0].g);
	guest_msr_prog_done_port(&S.v[0].g, true);
	for (i = 1; i < MI_VCPUS; i++) {
		struct kvm_vcpu *vcpu = vm_vcpu_add(S.v[0].g.vm, i, guest_msr_interpreter);

		S.v[i].g = S.v[0].g;
		S.v[i].g.vcpu = vcpu;
		msr_guest_cpuid_set(vcpu, vcpu_cpuid(i));
		suite_init_vcpu_exceptions(vcpu);
		vcpu_args_set(vcpu, 1, regs.rdi);
		if (!(i & 1))
			continue;
		run = vcpu->run;
		r = fuzz_vcpu_run(vcpu);
		FUZZ_HARNESS_ASSERT(!r && run->exit_reason == KVM_EXIT_IO &&
				    run->io.port == GUEST_MSR_DONE_PORT,
				    "vCPU %u's only KVM_RUN: r %d errno %d exit %u port %#x", i, r,
				    errno, run->exit_reason, run->io.port);
	}

	for (i = 0; i < MI_VCPUS; i++) {
		struct mi_vcpu *v = &S.v[i];

		vcpu_setup(v, i);
		v->io = (struct msr_io_facts){
			.lookup = mi_lookup, .ctx = &ctx_vcpu[i],
			.ignore_msrs = v->model.ignore_msrs, .vcpu_has_run = v->has_run,
			.kernel = S.kernel,
		};
		ctx_vcpu[i] = (struct mi_ctx){ v, false };
	}
	ctx_sys = (struct mi_ctx){ &S.v[0], true };
	S.sys_io = S.v[0].io;
	S.sys_io.ctx = &ctx_sys;
	S.sys_io.vcpu_has_run = false;
	S.ready = true;
	if (!mi_t0 && getenv("MSRS_IOCTL_STATS")) {
		mi_t0 = msr_now_ns();
		atexit(mi_stats);
	}
}

static void mi_destroy(void)
{
	if (!S.ready)
		return;
	guest_msr_vcpu_free(&S.v[0].g);
	close(S.kvm_fd);
	free(S.lists[0].buf);
	free(S.lists[0].indices);
	free(S.lists[1].buf);
	free(S.lists[1].indices);
	S.ready = false;
}

static void mi_reset(void)
{
	/* The fds and the VM belong to the parent: forget them. */
	memset(&S, 0, sizeof(S));
}

static void mi_fini(void)
{
	mi_destroy();
}

/* ---- one call ------------------------------------------------------------------- */

static const char *op_name(enum msr_scope scope, enum msr_io_op op)
{
	if (scope == MSR_SCOPE_SYSTEM)
		return op == MSR_IO_GET ? "system_get" : "system_set";
	return op == MSR_IO_GET ? "get" : "set";
}

static uint64_t cur_value(const struct mi_ctx *c, uint32_t index)
{
	int p = cat_pos(index);
	const struct msr_probe *pr;

	if (p < 0) {
		struct mi_nc *s = nc_get(c, index);

		return s->value;
	}
	pr = &c->v->cat.entries[p].probe;
	if (c->system)
		return pr->system_readable ? pr->system_value : 0;
	return pr->host_value;
}

static uint32_t resolve_index(const struct mi_desc *d, bool system)
{
	const struct mi_list *l = &S.lists[system && S.features ? 1 : 0];

	switch (d->isel) {
	case MI_IDX_LISTED:
		if (l->count)
			return l->indices[d->iarg % l->count];
		/* fall through: an empty list */
	case MI_IDX_CATALOG:
	case MI_IDX_CATALOG2:
		return msr_catalog_table[d->iarg % MSR_CATALOG_SIZE].index;
	default:
		return d->iarg;
	}
}

static void entry_str(char *buf, size_t len, const struct kvm_msr_entry *e)
{
	snprintf(buf, len, "{index %#x, reserved %#x, data %#llx}", e->index, e->reserved,
		 (unsigned long long)e->data);
}

/* Mark every writable catalog MSR of @v for the restore (KVM state unknown). */
static void all_dirty(struct mi_vcpu *v)
{
	unsigned int i;

	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		if (v->cat.entries[i].probe.host_writable) {
			v->dirty[i] = true;
			v->any_dirty = true;
		}
}

/* One single-entry ioctl, now: what KVM itself answers for this entry. */
static int single(int fd, unsigned long cmd, uint32_t index, uint64_t *data)
{
	fuzz_stats.ioctls++;
	return msr_ioctl_one(fd, cmd, index, data);
}

/*
 * Returns false when the input must stop (a known divergence, or replay
 * mode): KVM's state may differ from the model's.
 */
static bool run_batch(const struct mi_call *c)
{
	enum msr_scope scope = (c->kind == MI_SYS_GET || c->kind == MI_SYS_SET) ?
			       MSR_SCOPE_SYSTEM : MSR_SCOPE_VCPU;
	enum msr_io_op op = (c->kind == MI_VCPU_GET || c->kind == MI_SYS_GET) ?
			    MSR_IO_GET : MSR_IO_SET;
	bool system = scope == MSR_SCOPE_SYSTEM;
	struct mi_vcpu *v = &S.v[system ? 0 : c->vcpu];	/* system: the absent model */
	const struct mi_ctx *ctx = system ? &ctx_sys : &ctx_vcpu[c->vcpu];
	const struct msr_io_facts *io = system ? &S.sys_io : &v->io;
	unsigned long cmd = op == MSR_IO_GET ? KVM_GET_MSRS : KVM_SET_MSRS;
	int fd = system ? S.kvm_fd : v->fd;
	uint32_t n_fill = c->nmsrs < MI_ROOM ? c->nmsrs : MI_ROOM, i;
	const char *opn = op_name(scope, op);
	char sig[FUZZ_SIG_LEN], s1[96], s2[96];
	struct msr_io_result exp;
	int ret, k;

	if (!c->nent)
		n_fill = 0;
	/*
	 * Half full: forget the probed facts (they are probed again), before
	 * this call, which adds at most MI_MAX_DESC indices.
	 */
	if (*(system ? &S.sys_nc_used : &v->nc_used) > MI_NC_SLOTS / 2) {
		memset(system ? S.sys_nc : v->nc, 0, sizeof(S.sys_nc));
		*(system ? &S.sys_nc_used : &v->nc_used) = 0;
	}
	for (i = 0; i < n_fill; i++) {
		const struct mi_desc *d = &c->e[i % c->nent];
		uint32_t index = resolve_index(d, system);
		uint64_t cur = cur_value(ctx, index), value;

		if (op == MSR_IO_SET && cat_pos(index) < 0)
			value = cur;	/* outside the catalog: write back */
		else if (d->vsel == MI_VAL_FLIP)
			value = cur ^ d->varg;
		else if (d->vsel == MI_VAL_RAW)
			value = d->varg;
		else
			value = cur;
		b_in.e[i] = (struct kvm_msr_entry){ .index = index, .reserved = d->reserved,
						    .data = value };
	}
	b_in.hdr.nmsrs = c->nmsrs;
	b_in.hdr.pad = 0;
	memcpy(&b_want, &b_in, sizeof(b_in.hdr) + n_fill * sizeof(b_in.e[0]));
	memcpy(&b_got, &b_in, sizeof(b_in.hdr) + n_fill * sizeof(b_in.e[0]));

	exp = msr_model_msrs_io(scope, op, c->nmsrs, b_want.e, io);
	fuzz_stats.ioctls++;
	ret = ioctl(fd, cmd, &b_got);
	if (ret < 0)
		ret = -errno;

	/* The count or error. */
	if (ret != exp.ret && (ret < 0 || exp.ret < 0)) {
		snprintf(sig, sizeof(sig), "none.%s.errno", opn);
		if (fuzz_divergence(sig, "%s, nmsrs %u: returned %d, expected %d (rule %s, %s)",
				    mi_kind_names[c->kind], c->nmsrs, ret, exp.ret,
				    msr_rule_name(exp.rule), msr_rule_citation(exp.rule))) {
			if (!system)
				all_dirty(v);
			return false;
		}
	} else if (ret != exp.ret) {
		struct kvm_msr_entry *e;
		uint64_t d;
		int r1;

		k = ret < exp.ret ? ret : exp.ret;	/* first entry they disagree on */
		if (k >= (int)n_fill) {
			/* More entries than nmsrs: no entry to name. */
			snprintf(sig, sizeof(sig), "none.%s.count", opn);
			if (fuzz_divergence(sig, "%s of %u entries: returned %d, expected %d "
					    "(rule %s)", mi_kind_names[c->kind], c->nmsrs, ret,
					    exp.ret, msr_rule_name(exp.rule))) {
				if (!system)
					all_dirty(v);
				return false;
			}
		}
		e = &b_in.e[k];
		d = e->data;
		if (cat_pos(e->index) < 0) {
			/* Facts probed from KVM: ask KVM again, single entry, now. */
			r1 = single(fd, cmd, e->index, &d);
			if ((r1 == 1) == (ret > k)) {
				struct mi_nc *s = nc_get(ctx, e->index);

				/* KVM agrees with itself: the cached fact was stale. */
				mi_stale++;
				memset(s, 0, sizeof(*s));
				s->used = true;
				s->index = e->index;
				nc_probe_into(s, fd, system);
				if (!system)
					all_dirty(v);
				return false;
			}
		}
		entry_str(s1, sizeof(s1), e);
		if (fuzz_divergence(fuzz_sig(sig, sizeof(sig), e->index, opn, "count"),
				    "%s of %u entries on %s: returned %d, expected %d "
				    "(rule %s: %s); entry %d %s %s",
				    mi_kind_names[c->kind], c->nmsrs,
				    system ? "the system fd" : vcpu_name(v), ret, exp.ret,
				    msr_rule_name(exp.rule), msr_rule_citation(exp.rule), k, s1,
				    ret > k ? "succeeded in KVM" : "failed in KVM")) {
			if (!system)
				all_dirty(v);
			return false;
		}
	}

	/* Every entry of the array. */
	for (i = 0; i < n_fill; i++) {
		struct kvm_msr_entry *g = &b_got.e[i], *w = &b_want.e[i];
		bool ok_entry = (int)i < exp.ret;
		const char *check = "data";
		struct mi_nc *s;

		if (g->index != w->index || g->reserved != w->reserved) {
			check = "entry";
		} else if (g->data == w->data) {
			continue;
		} else if (op == MSR_IO_GET && ok_entry && cat_pos(g->index) < 0) {
			uint64_t d = 0;

			s = nc_get(ctx, g->index);
			if (s->volatile_)
				continue;
			/* Ask KVM again: a value that changed since the probe is not a finding. */
			if (single(fd, cmd, g->index, &d) == 1 && d == g->data) {
				mi_stale++;
				s->volatile_ = true;
				continue;
			}
		}
		entry_str(s1, sizeof(s1), g);
		entry_str(s2, sizeof(s2), w);
		if (fuzz_divergence(fuzz_sig(sig, sizeof(sig), g->index, opn, check),
				    "%s of %u entries on %s returned %d: entry %u after the call "
				    "%s, expected %s (%s; the model stopped at %d, rule %s)",
				    mi_kind_names[c->kind], c->nmsrs,
				    system ? "the system fd" : vcpu_name(v), ret, i, s1, s2,
				    (int)i < exp.ret ? "processed" :
				    (int)i == exp.stopped_at ? "the failing entry" :
				    "not processed",
				    exp.stopped_at, msr_rule_name(exp.rule))) {
			if (!system)
				all_dirty(v);
			return false;
		}
	}

	/* What each processed entry did: feedback, and SET stores in the model. */
	/*
	 * Feedback: the rule that ended the call and the catalog MSR it
	 * stopped at (0xff: outside the catalog, 0xfe: none).
	 */
	k = -2;
	if (exp.stopped_at >= 0 && exp.stopped_at < (int)n_fill)
		k = cat_pos(b_in.e[exp.stopped_at].index);
	fb(fuzz_key(0x10 + scope * 2 + op, exp.rule,
		    (k < 0 ? 0x100 + k : k) | (ret < 0 ? -ret << 9 : 0), v->id));

	/* GET: read back right here.  SET: what each processed entry stored. */
	for (k = 0; k < exp.ret && !system; k++) {
		const struct kvm_msr_entry *e = &b_in.e[k];
		int p = cat_pos(e->index);
		struct msr_io_entry_verdict ev;
		struct msr_catalog_entry *ce;
		struct msr_facts f;

		if (p < 0)
			continue;
		if (op == MSR_IO_GET) {
			v->readback[p] = false;
			continue;
		}
		ev = msr_model_host_access(io, scope, op, e->index, e->data);
		FUZZ_HARNESS_ASSERT(ev.ok, "entry %d: the batch model processed it, the entry "
				    "model refuses it (rule %s)", k, msr_rule_name(ev.rule));
		fb(fuzz_key(0x20 + op, ev.rule, p, v->id));
		if (ev.rule != MSR_RULE_IO_ENTRY_OK)
			continue;
		ce = &v->cat.entries[p];
		msr_catalog_facts(ce, &v->model, &f);
		ce->probe.host_value = (e->data & f.wr_keep) | (f.rd_value & f.wr_keep_current);
		v->readback[p] = ce->probe.host_readable;
		v->any_readback |= v->readback[p];
		if (ce->probe.host_value != v->snap[p]) {
			v->dirty[p] = true;
			v->any_dirty = true;
		}
	}
	return true;
}

static bool run_list(const struct mi_call *c)
{
	bool feature = c->kind == MI_FEATURE_LIST && S.features;
	const struct mi_list *l = &S.lists[feature];
	unsigned long cmd = feature ? KVM_GET_MSR_FEATURE_INDEX_LIST : KVM_GET_MSR_INDEX_LIST;
	const char *opn = feature ? "feature_list" : "list";
	uint32_t room = l->count + MI_LIST_SLACK, nmsrs, i;
	struct msr_list_verdict want;
	char sig[FUZZ_SIG_LEN];
	int r, err;

	switch (c->list_mode) {
	case 0:
	case 2:
		nmsrs = c->nmsrs;
		break;
	case 1:
		nmsrs = l->count + c->nmsrs - 32;
		break;
	default:
		nmsrs = l->count;
		break;
	}
	for (i = 0; i < room; i++)
		l->buf->indices[i] = MI_SENTINEL ^ i;
	l->buf->nmsrs = nmsrs;
	want = msr_model_index_list(nmsrs, l->count);
	fuzz_stats.ioctls++;
	r = ioctl(S.kvm_fd, cmd, l->buf);
	err = r ? errno : 0;
	fb(fuzz_key(0x40 + feature, want.rule, err,
			       nmsrs < l->count ? 0 : nmsrs == l->count ? 1 : 2));
	if ((want.err ? -1 : 0) != r || want.err != err) {
		snprintf(sig, sizeof(sig), "none.%s.errno", opn);
		return !fuzz_divergence(sig, "%s nmsrs %u (true count %u): returned %d errno %d "
					"(%s), expected %d errno %d (rule %s: %s)",
					mi_kind_names[c->kind], nmsrs, l->count, r, err,
					strerror(err), want.err ? -1 : 0, want.err,
					msr_rule_name(want.rule), msr_rule_citation(want.rule));
	}
	if (l->buf->nmsrs != want.nmsrs) {
		snprintf(sig, sizeof(sig), "none.%s.nmsrs", opn);
		return !fuzz_divergence(sig, "%s nmsrs %u: wrote back nmsrs %u, expected %u "
					"(rule %s: %s)", mi_kind_names[c->kind], nmsrs,
					l->buf->nmsrs, want.nmsrs, msr_rule_name(want.rule),
					msr_rule_citation(want.rule));
	}
	for (i = 0; i < room; i++) {
		uint32_t expect = want.indices_written && i < l->count ? l->indices[i] :
				  MI_SENTINEL ^ i;

		if (l->buf->indices[i] == expect)
			continue;
		snprintf(sig, sizeof(sig), "none.%s.indices", opn);
		return !fuzz_divergence(sig, "%s nmsrs %u (true count %u): indices[%u] is %#x, "
					"expected %#x (%s; rule %s)", mi_kind_names[c->kind],
					nmsrs, l->count, i, l->buf->indices[i], expect,
					i >= l->count ? "past the true count: untouched" :
					want.indices_written ? "the list read at start" :
					"not copied: untouched", msr_rule_name(want.rule));
	}
	return true;
}

/* GET after SET: every catalog MSR a SET of this input stored reads it back. */
static bool readback(struct mi_vcpu *v)
{
	char sig[FUZZ_SIG_LEN], s1[96], s2[96];
	struct msr_io_result exp;
	uint32_t n = 0, i;
	int ret;

	for (i = 0; i < MSR_CATALOG_SIZE; i++)
		if (v->readback[i])
			b_in.e[n++] = (struct kvm_msr_entry){
				.index = msr_catalog_table[i].index, .data = ~0ull };
	memset(v->readback, 0, sizeof(v->readback));
	v->any_readback = false;
	if (!n)
		return true;
	b_in.hdr.nmsrs = n;
	memcpy(&b_want, &b_in, sizeof(b_in.hdr) + n * sizeof(b_in.e[0]));
	memcpy(&b_got, &b_in, sizeof(b_in.hdr) + n * sizeof(b_in.e[0]));
	exp = msr_model_msrs_io(MSR_SCOPE_VCPU, MSR_IO_GET, n, b_want.e, &v->io);
	fuzz_stats.ioctls++;
	ret = ioctl(v->fd, KVM_GET_MSRS, &b_got);
	if (ret < 0)
		ret = -errno;
	for (i = 0; i < n; i++) {
		if (ret == exp.ret && b_got.e[i].data == b_want.e[i].data)
			continue;
		entry_str(s1, sizeof(s1), &b_got.e[i]);
		entry_str(s2, sizeof(s2), &b_want.e[i]);
		if (fuzz_divergence(fuzz_sig(sig, sizeof(sig), b_in.e[i].index, "set", "readback"),
				    "KVM_GET_MSRS after this input's KVM_SET_MSRS on %s: "
				    "returned %d (expected %d), entry %u %s, expected %s (the "
				    "value the model says the SET stored)", vcpu_name(v), ret,
				    exp.ret, i, s1, s2)) {
			all_dirty(v);
			return false;
		}
	}
	return true;
}

/* Back to the values at creation: one KVM_SET_MSRS; false: recreate. */
static bool restore(struct mi_vcpu *v)
{
	uint32_t n = 0, i;
	int ret;

	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!v->dirty[i])
			continue;
		b_in.e[n++] = (struct kvm_msr_entry){ .index = msr_catalog_table[i].index,
						      .data = v->snap[i] };
		v->cat.entries[i].probe.host_value = v->snap[i];
	}
	memset(v->dirty, 0, sizeof(v->dirty));
	v->any_dirty = false;
	if (!n)
		return true;
	b_in.hdr.nmsrs = n;
	fuzz_stats.ioctls++;
	ret = ioctl(v->fd, KVM_SET_MSRS, &b_in);
	if (ret == (int)n)
		return true;
	fprintf(stderr, "# msrs_ioctl: restoring %u MSRs of %s stopped at entry %d "
		"(%#x := %#llx): recreating the VM\n", n, vcpu_name(v), ret,
		ret >= 0 && ret < (int)n ? b_in.e[ret].index : 0,
		ret >= 0 && ret < (int)n ? (unsigned long long)b_in.e[ret].data : 0ull);
	return false;
}

static void mi_one(const uint8_t *data, size_t size)
{
	static struct mi_input inp;
	bool go = true, fresh = true;
	unsigned int i;

	if (!S.ready)
		mi_create();
	fb_n = 0;
	mi_decode(data, size, &inp);
	for (i = 0; go && i < inp.ncalls; i++) {
		const struct mi_call *c = &inp.calls[i];
		bool vcpu = c->kind == MI_VCPU_GET || c->kind == MI_VCPU_SET;

		/*
		 * Known divergences are matched in the setting of the vCPU the
		 * call is on (guest CPUID...); the system fd and the lists have
		 * no guest CPUID: vCPU 0's, absent.
		 */
		fuzz_set_case(&S.v[vcpu ? c->vcpu : 0].model);
		if (c->kind == MI_INDEX_LIST || c->kind == MI_FEATURE_LIST)
			go = run_list(c);
		else
			go = run_batch(c);
	}
	for (i = 0; i < MI_VCPUS; i++) {
		struct mi_vcpu *v = &S.v[i];

		if (go && v->any_readback) {
			fuzz_set_case(&v->model);
			go = readback(v);
		}
		memset(v->readback, 0, sizeof(v->readback));
		v->any_readback = false;
		if (v->any_dirty && !restore(v))
			fresh = false;
	}
	if (!fresh) {
		mi_destroy();
		mi_create();
	}
}

/* ---- seeds ------------------------------------------------------------------------ */

static void put_entry(struct fuzz_out *o, uint8_t isel, uint8_t vsel, uint32_t iarg,
		      uint64_t varg, bool reserved, uint32_t rsv)
{
	fuzz_put_u8(o, isel | vsel << 2 | (reserved ? 0x10 : 0));
	if (isel == MI_IDX_LISTED)
		fuzz_put_u16(o, iarg);
	else if (isel == MI_IDX_RAW)
		fuzz_put_u32(o, iarg);
	else
		fuzz_put_u8(o, iarg);
	if (vsel == MI_VAL_FLIP || vsel == MI_VAL_RAW)
		fuzz_put_u64(o, varg);
	if (reserved)
		fuzz_put_u32(o, rsv);
}

/* The kind byte of @kind on vCPU @vcpu (0-3; ignored by the system fd). */
static uint8_t kind_byte(enum mi_kind kind, unsigned int vcpu)
{
	return kind | (vcpu & 1 ? MI_KIND_RAN : 0) | (vcpu & 2 ? MI_KIND_PRESENT : 0);
}

/* A small call: nmsrs = n (< 16) described entries follow. */
static void put_call(struct fuzz_out *o, enum mi_kind kind, unsigned int vcpu, unsigned int n)
{
	fuzz_put_u8(o, kind_byte(kind, vcpu));
	fuzz_put_u8(o, n);
}

static void put_list(struct fuzz_out *o, enum mi_kind kind, uint8_t mode, uint32_t arg)
{
	fuzz_put_u8(o, kind);
	fuzz_put_u8(o, mode | (mode == 2 ? 0 : arg << 2));
	if (mode == 2)
		fuzz_put_u32(o, arg);
}

static void emit(struct fuzz_emit *e, const char *name, struct fuzz_out *o)
{
	e->seed(e, name, o);
	o->n = 0;
}

static void mi_seeds(struct fuzz_emit *e)
{
	static struct fuzz_out o;
	static const struct { const char *name; uint32_t nmsrs; } big[] = {
		{ "batch_255", 255 }, { "batch_256", 256 }, { "batch_huge", 0xffffffffu },
		{ "batch_2pow31", 0x80000000u },
	};
	char name[64];
	unsigned int i, j, vcpu, pos;
	uint8_t b;

	/* Each vCPU: both guest CPUID states, never ran and has run. */
	o.n = 0;
	for (vcpu = 0; vcpu < MI_VCPUS; vcpu++) {
		/* Every catalog MSR read with garbage pre-filled, then written back. */
		for (j = 0; j < MSR_CATALOG_SIZE; j += 11) {
			put_call(&o, MI_VCPU_GET, vcpu, 11);
			for (i = j; i < j + 11; i++)
				put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, i, 0xa5a5a5a5a5a5a5a5ull,
					  true, 0xdead);
		}
		snprintf(name, sizeof(name), "get_catalog_vcpu%u", vcpu);
		emit(e, name, &o);
		for (j = 0; j < MSR_CATALOG_SIZE; j += 11) {
			put_call(&o, MI_VCPU_SET, vcpu, 11);
			for (i = j; i < j + 11; i++)
				put_entry(&o, MI_IDX_CATALOG, MI_VAL_CURRENT, i, 0, false, 0);
		}
		snprintf(name, sizeof(name), "set_current_vcpu%u", vcpu);
		emit(e, name, &o);
		/* Each catalog MSR: SET with its low bit flipped, then GET. */
		for (i = 0; i < MSR_CATALOG_SIZE; i++) {
			put_call(&o, MI_VCPU_SET, vcpu, 1);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_FLIP, i, 1, false, 0);
			put_call(&o, MI_VCPU_GET, vcpu, 2);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, i, 0x5555555555555555ull,
				  false, 0);
			put_entry(&o, MI_IDX_RAW, MI_VAL_RAW, 0xdeadbeef, 0x1234, false, 0);
			snprintf(name, sizeof(name), "flip_%s_vcpu%u", msr_catalog_table[i].name,
				 vcpu);
			for (j = 0; name[j]; j++)
				name[j] = name[j] >= 'A' && name[j] <= 'Z' ? name[j] - 'A' + 'a' :
					  name[j];
			emit(e, name, &o);
		}
		/* Listed MSRs: read, then written back. */
		put_call(&o, MI_VCPU_GET, vcpu, 8);
		for (i = 0; i < 8; i++)
			put_entry(&o, MI_IDX_LISTED, MI_VAL_RAW, i * 7, ~0ull, false, 0);
		put_call(&o, MI_VCPU_SET, vcpu, 8);
		for (i = 0; i < 8; i++)
			put_entry(&o, MI_IDX_LISTED, MI_VAL_CURRENT, i * 7, 0, false, 0);
		snprintf(name, sizeof(name), "listed_vcpu%u", vcpu);
		emit(e, name, &o);
		/* An unknown MSR first, in the middle, last. */
		for (pos = 0; pos < 3; pos++) {
			for (b = 0; b < 2; b++) {
				put_call(&o, b ? MI_VCPU_SET : MI_VCPU_GET, vcpu, 5);
				for (i = 0; i < 5; i++) {
					if (i == pos * 2)
						put_entry(&o, MI_IDX_RAW, MI_VAL_RAW, 0xdeadbeef,
							  0xa5a5a5a5a5a5a5a5ull, false, 0);
					else
						put_entry(&o, MI_IDX_CATALOG, b ? MI_VAL_CURRENT :
							  MI_VAL_RAW, i, 0xa5a5a5a5a5a5a5a5ull,
							  false, 0);
				}
			}
			snprintf(name, sizeof(name), "unknown_at_%u_vcpu%u", pos * 2, vcpu);
			emit(e, name, &o);
		}
	}
	/* The immutability rule: feature MSRs on the vCPUs that have run. */
	for (i = 0; i < MSR_CATALOG_SIZE; i++) {
		if (!(msr_catalog_table[i].flags & MSR_CAT_F_FEATURE))
			continue;
		for (vcpu = 1; vcpu < MI_VCPUS; vcpu += 2) {
			put_call(&o, MI_VCPU_SET, vcpu, 2);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_CURRENT, i, 0, false, 0);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_FLIP, i, 1ull << 32, false, 0);
			snprintf(name, sizeof(name), "immutable_%u%s", i,
				 vcpu == 1 ? "" : "_vcpu3");
			emit(e, name, &o);
		}
	}
	/* The MAX_IO_MSRS edge and huge sizes. */
	for (i = 0; i < ARRAY_SIZE(big); i++) {
		for (vcpu = 0; vcpu <= MI_VCPUS; vcpu++) {	/* MI_VCPUS: the system fd */
			fuzz_put_u8(&o, vcpu == MI_VCPUS ? MI_SYS_GET : kind_byte(MI_VCPU_GET, vcpu));
			if (big[i].nmsrs >= 250 && big[i].nmsrs < 266) {
				fuzz_put_u8(&o, 0xe0 | (big[i].nmsrs - 250));
			} else {
				fuzz_put_u8(&o, 0xf0);
				fuzz_put_u32(&o, big[i].nmsrs);
			}
			fuzz_put_u8(&o, 1);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_MODEL_UCODE_REV),
				  0xa5a5a5a5a5a5a5a5ull, false, 0);
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_EFER),
				  0xa5a5a5a5a5a5a5a5ull, false, 0);
		}
		emit(e, big[i].name, &o);
	}
	/* The system fd: every catalog MSR, then KVM_SET_MSRS. */
	for (j = 0; j < MSR_CATALOG_SIZE; j += 11) {
		put_call(&o, MI_SYS_GET, 0, 11);
		for (i = j; i < j + 11; i++)
			put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, i, 0xa5a5a5a5a5a5a5a5ull,
				  false, 0);
	}
	put_call(&o, MI_SYS_GET, 0, 4);
	for (i = 0; i < 4; i++)
		put_entry(&o, MI_IDX_LISTED, MI_VAL_RAW, i, 0xa5a5a5a5a5a5a5a5ull, false, 0);
	emit(e, "system_get", &o);
	put_call(&o, MI_SYS_SET, 0, 1);
	put_entry(&o, MI_IDX_CATALOG, MI_VAL_CURRENT, cat_pos(MSR_MODEL_UCODE_REV), 0, false, 0);
	emit(e, "system_set", &o);
	/* The list size protocol. */
	for (b = MI_INDEX_LIST; b <= MI_FEATURE_LIST; b++) {
		const char *ln = b == MI_INDEX_LIST ? "index_list" : "feature_list";

		put_list(&o, b, 0, 0);
		put_list(&o, b, 0, 1);
		snprintf(name, sizeof(name), "%s_small", ln);
		emit(e, name, &o);
		put_list(&o, b, 1, 31);
		put_list(&o, b, 3, 0);
		put_list(&o, b, 1, 33);
		snprintf(name, sizeof(name), "%s_around", ln);
		emit(e, name, &o);
		put_list(&o, b, 2, 0xffffffffu);
		snprintf(name, sizeof(name), "%s_huge", ln);
		emit(e, name, &o);
	}
	/* A typical input: a SET of 3 and a GET of 4, one raw index (vCPU 0, then 2). */
	for (vcpu = 0; vcpu < MI_VCPUS; vcpu += 2) {
		put_call(&o, MI_VCPU_SET, vcpu, 3);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_FLIP, cat_pos(MSR_CAT_EFER),
			  MSR_CAT_EFER_SCE, false, 0);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_TSC_AUX), 0x12345678,
			  true, 7);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_LSTAR),
			  0xffff800000001000ull, false, 0);
		put_call(&o, MI_VCPU_GET, vcpu, 4);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_EFER), ~0ull, false, 0);
		put_entry(&o, MI_IDX_RAW, MI_VAL_RAW, 0x10, ~0ull, false, 0);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_TSC_AUX), ~0ull, false,
			  0);
		put_entry(&o, MI_IDX_CATALOG, MI_VAL_RAW, cat_pos(MSR_CAT_LSTAR), ~0ull, false, 0);
		emit(e, vcpu ? "typical_vcpu2" : "typical", &o);
	}

	fuzz_emit_catalog_tokens(e);
	for (b = 0; b < MI_KINDS; b++) {
		static const char *const suffix[MI_VCPUS] = { "", "_ran", "_cpuid", "_ran_cpuid" };

		for (vcpu = 1; vcpu < MI_VCPUS; vcpu++) {
			uint8_t k = kind_byte(b, vcpu);

			snprintf(name, sizeof(name), "kind_%u%s", b, suffix[vcpu]);
			e->token(e, name, &k, 1);
		}
	}
}

const struct fuzz_target fuzz_target_msrs_ioctl = {
	.name = "msrs_ioctl",
	.summary = "KVM_GET/SET_MSRS on vCPU and system fds, MSR index lists, vs the model",
	.max_len = 2048,
	.init = NULL,
	.reset = mi_reset,
	.one = mi_one,
	.describe = mi_describe,
	.seeds = mi_seeds,
	.fini = mi_fini,
};
