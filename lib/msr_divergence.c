// SPDX-License-Identifier: GPL-2.0
/*
 * Divergence signatures, the baseline of known divergences and the tally
 * of checks against it; see msr_divergence.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libgen.h>
#include <limits.h>

#include "msr_divergence.h"
#include "suite.h"
#include "msr_names.h"

void msr_div_case_of(struct msr_div_case *c, const struct msr_vcpu_model *m)
{
	c->vendor = m->vendor;
	c->guest_features = m->guest_features;
	c->host_features = m->host_features;
	c->kernel = m->kernel;
	c->cause = MSR_RULE_NONE;
}

static void slug(char *out, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < len - 1; i++)
		out[i] = tolower((unsigned char)s[i]);
	out[i] = '\0';
}

const char *msr_div_rule_slug(char *buf, size_t len, enum msr_rule rule)
{
	slug(buf, len, msr_rule_name(rule));
	return buf;
}

const char *msr_div_sig(char *buf, size_t len, const char *source, __u32 index,
			const char *op, const char *check)
{
	const struct msr_catalog_entry *e = msr_catalog_table_find(index);
	const char *name = e ? e->name : msr_name(index);
	char msr[64];

	/* msr_name() spells an index msr-index.h lacks "MSR_0x<hex>". */
	if (!name || !strncmp(name, "MSR_0x", 6))
		name = "unlisted";
	slug(msr, sizeof(msr), name);
	snprintf(buf, len, "%s%s%s.%s.%s", source ? source : "", source ? "." : "", msr, op, check);
	return buf;
}

/* --- the baseline ------------------------------------------------------------ */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static bool parse_version(const char *s, __u32 *v)
{
	unsigned int maj, min;
	char end;

	if (sscanf(s, "%u.%u%c", &maj, &min, &end) != 2 || min > 255)
		return false;
	*v = MSR_KERNEL(maj, min);
	return true;
}

static bool parse_cond(struct msr_baseline_cond *c, const char *w)
{
	if (!strcmp(w, "vendor=amd") || !strcmp(w, "vendor=intel")) {
		c->kind = MSR_COND_VENDOR;
		c->value = strcmp(w, "vendor=amd") ? MSR_VENDOR_INTEL : MSR_VENDOR_AMD;
		return true;
	}
	if (!strncmp(w, "guest:", 6) || !strncmp(w, "host:", 5)) {
		const char *f = strchr(w, ':') + 1;

		c->kind = w[0] == 'g' ? MSR_COND_GUEST : MSR_COND_HOST;
		c->present = *f == '+';
		c->value = (*f == '+' || *f == '-') ? msr_feature_by_name(f + 1) : 0;
		return c->value != 0;
	}
	if (!strncmp(w, "cause=", 6)) {
		unsigned int r;

		c->kind = MSR_COND_CAUSE;
		for (r = MSR_RULE_NONE + 1; r < MSR_RULE_COUNT; r++) {
			char name[64];

			if (!strcmp(msr_div_rule_slug(name, sizeof(name), r), w + 6)) {
				c->value = r;
				return true;
			}
		}
		return false;
	}
	if (!strncmp(w, "kernel>=", 8)) {
		c->kind = MSR_COND_KERNEL_MIN;
		return parse_version(w + 8, &c->value);
	}
	if (!strncmp(w, "kernel<", 7)) {
		c->kind = MSR_COND_KERNEL_BELOW;
		return parse_version(w + 7, &c->value);
	}
	return false;
}

bool msr_baseline_parse_line(struct msr_baseline *b, const char *text, const char *where)
{
	struct msr_baseline_entry *e;
	char line[4096], *hash, *bar, *head, *reason, *w, *save;

	snprintf(line, sizeof(line), "%s", text);
	if ((hash = strchr(line, '#')))
		*hash = '\0';
	if (!*trim(line))
		return true;
	bar = strchr(line, '|');
	if (!bar) {
		snprintf(b->error, sizeof(b->error), "%s: no '|' after the signature", where);
		return false;
	}
	if (b->n == MSR_BASELINE_MAX) {
		snprintf(b->error, sizeof(b->error), "%s: more than %d entries", where,
			 MSR_BASELINE_MAX);
		return false;
	}
	*bar = '\0';
	reason = bar + 1;
	if ((bar = strchr(reason, '|')))
		*bar = '\0';
	e = &b->e[b->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->where, sizeof(e->where), "%s", where);
	snprintf(e->reason, sizeof(e->reason), "%s", trim(reason));
	head = trim(line);
	w = strtok_r(head, " \t", &save);
	if (!w || strchr(w, ':') || strchr(w, '=')) {
		snprintf(b->error, sizeof(b->error), "%s: '%s' is not a signature pattern "
			 "(<source>.<msr>.<op>.<check>)", where, w ? w : "");
		return false;
	}
	snprintf(e->pattern, sizeof(e->pattern), "%s", w);
	while ((w = strtok_r(NULL, " \t", &save))) {
		if (e->nconds == sizeof(e->conds) / sizeof(e->conds[0]) ||
		    !parse_cond(&e->conds[e->nconds], w)) {
			snprintf(b->error, sizeof(b->error), "%s: unknown condition '%s' (vendor=amd|intel, "
				 "guest:+F, guest:-F, host:+F, host:-F, kernel>=X.Y, kernel<X.Y, cause=RULE)",
				 where, w);
			return false;
		}
		e->nconds++;
	}
	b->n++;
	return true;
}

bool msr_baseline_parse_file(struct msr_baseline *b, const char *path)
{
	FILE *f = fopen(path, "r");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char line[4096], where[96];
	unsigned int no = 0;
	bool ok = true;

	if (!f)
		return true;
	snprintf(b->files + strlen(b->files), sizeof(b->files) - strlen(b->files), "%s%s",
		 b->files[0] ? " " : "", path);
	while (ok && fgets(line, sizeof(line), f)) {
		no++;
		snprintf(where, sizeof(where), "%s:%u", base, no);
		ok = msr_baseline_parse_line(b, line, where);
	}
	fclose(f);
	return ok;
}

static bool cond_holds(const struct msr_baseline_cond *c, const struct msr_div_case *k)
{
	switch (c->kind) {
	case MSR_COND_VENDOR:
		return k->vendor == c->value;
	case MSR_COND_GUEST:
		return !!(k->guest_features & c->value) == c->present;
	case MSR_COND_HOST:
		return !!(k->host_features & c->value) == c->present;
	case MSR_COND_KERNEL_MIN:
		return k->kernel >= c->value;
	case MSR_COND_KERNEL_BELOW:
		return k->kernel < c->value;
	case MSR_COND_CAUSE:
		return k->cause == c->value;
	}
	return false;
}

int msr_baseline_match(const struct msr_baseline *b, const char *sig,
		       const struct msr_div_case *c)
{
	unsigned int i, j;

	for (i = 0; b && i < b->n; i++) {
		const struct msr_baseline_entry *e = &b->e[i];

		if (fnmatch(e->pattern, sig, 0))
			continue;
		for (j = 0; j < e->nconds && cond_holds(&e->conds[j], c); j++)
			;
		if (j == e->nconds)
			return i;
	}
	return -1;
}

#ifndef MSR_BASELINE_DIR
#define MSR_BASELINE_DIR "tests/baseline"
#endif

/* As scripts/backend.sh says (SYSFS_MODULE overrides /sys/module). */
const char *msr_backend_name(void)
{
	static const char *const modules[] = { "kvm_pvm", "kvm_amd", "kvm_intel" };
	const char *sys = getenv("SYSFS_MODULE");
	char path[PATH_MAX];
	unsigned int i;

	if (!sys)
		sys = "/sys/module";
	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", sys, modules[i]);
		if (!access(path, F_OK))
			return modules[i];
	}
	snprintf(path, sizeof(path), "%s/kvm", sys);
	return access(path, F_OK) ? "none" : "unknown";
}

const char *msr_dir_next_to_exe(const char *name, const char *fallback)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/%s", dirname(exe), name);
		if (!stat(dir, &st) && S_ISDIR(st.st_mode))
			return dir;
	}
	return fallback;
}

static const char *baseline_dir(void)
{
	const char *env = getenv("MSR_BASELINE");

	return env ? env : msr_dir_next_to_exe("baseline", MSR_BASELINE_DIR);
}

const struct msr_baseline *msr_baseline_get(void)
{
	static struct msr_baseline *b;
	const char *dir;
	char path[PATH_MAX];

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	dir = baseline_dir();
	if (!*dir)
		return b;
	if (snprintf(path, sizeof(path), "%s/%s.txt", dir, msr_backend_name()) >= (int)sizeof(path)) {
		fprintf(stderr, "kvm-msr-suite: baseline directory name too long: %s\n", dir);
		exit(2);
	}
	if (!msr_baseline_parse_file(b, path)) {
		fprintf(stderr, "kvm-msr-suite: malformed baseline entry: %s\n", b->error);
		exit(2);
	}
	return b;
}

/* --- the tally ----------------------------------------------------------------- */

/* Signature + case -> entry, so that a check costs a hash, not a fnmatch per entry. */
#define DIV_CACHE_SLOTS	2048

static struct {
	bool used;
	char sig[MSR_SIG_LEN];
	struct msr_div_case c;
	int entry;
} div_cache[DIV_CACHE_SLOTS];

static unsigned int div_hash(const char *sig, const struct msr_div_case *c)
{
	unsigned int h = 2166136261u;

	for (; *sig; sig++)
		h = (h ^ (unsigned char)*sig) * 16777619u;
	h = (h ^ c->guest_features) * 16777619u;
	h = (h ^ c->host_features) * 16777619u;
	h = (h ^ c->cause) * 16777619u;
	return (h ^ c->kernel ^ c->vendor) % DIV_CACHE_SLOTS;
}

static bool same_case(const struct msr_div_case *a, const struct msr_div_case *b)
{
	return a->vendor == b->vendor && a->guest_features == b->guest_features &&
	       a->host_features == b->host_features && a->kernel == b->kernel &&
	       a->cause == b->cause;
}

static int cached_match(const char *sig, const struct msr_div_case *c)
{
	unsigned int h = div_hash(sig, c), i;

	for (i = 0; i < DIV_CACHE_SLOTS; i++, h = (h + 1) % DIV_CACHE_SLOTS) {
		if (!div_cache[h].used)
			break;
		if (!strcmp(div_cache[h].sig, sig) && same_case(&div_cache[h].c, c))
			return div_cache[h].entry;
	}
	if (i == DIV_CACHE_SLOTS)	/* full: no caching */
		return msr_baseline_match(msr_baseline_get(), sig, c);
	div_cache[h].used = true;
	snprintf(div_cache[h].sig, sizeof(div_cache[h].sig), "%s", sig);
	div_cache[h].c = *c;
	div_cache[h].entry = msr_baseline_match(msr_baseline_get(), sig, c);
	return div_cache[h].entry;
}

static void note_new(struct msr_div_tally *t, const char *sig, const char *casestr,
		     unsigned int count)
{
	unsigned int i;

	for (i = 0; i < t->nnew; i++) {
		if (!strcmp(t->fresh[i].sig, sig) && !strcmp(t->fresh[i].casestr, casestr)) {
			t->fresh[i].count += count;
			return;
		}
	}
	if (t->nnew == MSR_DIV_NEW_MAX)
		return;
	snprintf(t->fresh[t->nnew].sig, sizeof(t->fresh[0].sig), "%s", sig);
	snprintf(t->fresh[t->nnew].casestr, sizeof(t->fresh[0].casestr), "%s", casestr);
	t->fresh[t->nnew++].count = count;
}

int msr_div_check_n(struct msr_div_tally *t, const char *sig, const struct msr_div_case *c,
		    unsigned int checked, unsigned int failed)
{
	int id = cached_match(sig, c);

	if (id >= 0) {
		t->checked[id] += checked;
		t->failed[id] += failed;
	}
	if (!failed)
		return id;
	t->failures += failed;
	if (id < 0) {
		char g[MSR_DIV_CASE_LEN];
		int n;

		t->unmatched += failed;
		n = msr_features_str(g, sizeof(g), c->guest_features, ~0u);
		if (c->cause != MSR_RULE_NONE && n >= 0 && (size_t)n < sizeof(g)) {
			g[n++] = ';';
			snprintf(g + n, sizeof(g) - n, "cause=");
			msr_div_rule_slug(g + n + 6, sizeof(g) - n - 6, c->cause);
		}
		note_new(t, sig, g, failed);
	}
	return id;
}

int msr_div_check(struct msr_div_tally *t, const char *sig, const struct msr_div_case *c,
		  bool failed)
{
	return msr_div_check_n(t, sig, c, 1, failed);
}

int msr_div_note(char *buf, size_t len, const char *sig, int id)
{
	const struct msr_baseline *b = msr_baseline_get();

	if (id < 0 || (unsigned int)id >= b->n)
		return snprintf(buf, len, "signature: %s (no baseline entry covers it)", sig);
	return snprintf(buf, len, "signature: %s: known divergence (%s): %.200s", sig,
			b->e[id].where, b->e[id].reason);
}

static bool vexpect(struct msr_div_tally *t, const struct msr_div_case *c, bool ok,
		    const char *sig, const char *fmt, va_list ap)
{
	char msg[1024], note[512];
	int id = msr_div_check(t, sig, c, !ok);

	if (ok)
		return true;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msr_div_note(note, sizeof(note), sig, id);
	fflush(stdout);
	fprintf(stderr, "# %s\n#   %s\n", msg, note);
	return false;
}

bool msr_div_expect(struct msr_div_tally *t, const struct msr_div_case *c, bool ok,
		    const char *source, __u32 index, const char *op, const char *check,
		    const char *fmt, ...)
{
	char sig[MSR_SIG_LEN];
	va_list ap;
	bool r;

	msr_div_sig(sig, sizeof(sig), source, index, op, check);
	va_start(ap, fmt);
	r = vexpect(t, c, ok, sig, fmt, ap);
	va_end(ap);
	return r;
}

bool msr_div_expect_sig(struct msr_div_tally *t, const struct msr_div_case *c, bool ok,
			const char *sig, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = vexpect(t, c, ok, sig, fmt, ap);
	va_end(ap);
	return r;
}

void msr_div_fail_unnamed(struct msr_div_tally *t)
{
	t->failures++;
	t->unmatched++;
}

void msr_div_tally_add(struct msr_div_tally *to, const struct msr_div_tally *from)
{
	unsigned int i;

	to->failures += from->failures;
	to->unmatched += from->unmatched;
	for (i = 0; i < MSR_BASELINE_MAX; i++) {
		to->checked[i] += from->checked[i];
		to->failed[i] += from->failed[i];
	}
	for (i = 0; i < from->nnew; i++)
		note_new(to, from->fresh[i].sig, from->fresh[i].casestr, from->fresh[i].count);
}

void msr_div_tally_print(const struct msr_div_tally *t, const char *subtest, FILE *out)
{
	const struct msr_baseline *b = msr_baseline_get();
	struct suite_text txt = { .len = 0 };
	unsigned int i;

	suite_text_line(&txt, "DIVERGENCE-TALLY %s failures=%u unmatched=%u", subtest, t->failures,
			t->unmatched);
	for (i = 0; i < b->n; i++) {
		if (t->checked[i])
			suite_text_line(&txt, "DIVERGENCE-KNOWN %s %s checked=%u failed=%u", subtest,
					b->e[i].where, t->checked[i], t->failed[i]);
	}
	for (i = 0; i < t->nnew; i++)
		suite_text_line(&txt, "DIVERGENCE-NEW %s %s guest:%s cases=%u", subtest,
				t->fresh[i].sig, t->fresh[i].casestr, t->fresh[i].count);
	suite_text_flush(&txt, out);
}
