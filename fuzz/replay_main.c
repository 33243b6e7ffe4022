// SPDX-License-Identifier: GPL-2.0
/*
 * msr_fuzz_replay: the fuzz targets without a fuzzer runtime (built with
 * the tree's gcc and flags, like the tests).
 *
 *   msr_fuzz_replay [--target T] FILE|DIR...   replay inputs (T: from --target, or the
 *                                              name of the file's directory)
 *   msr_fuzz_replay [-r T.NAME] [DIR]          the regression corpus as kselftest TAP:
 *                                              one subtest "T.NAME" per DIR/T/NAME
 *   msr_fuzz_replay -l [DIR]                   list those subtests
 *   msr_fuzz_replay --signature --target T FILE   print the input's divergence signature
 *   msr_fuzz_replay --seeds DIR [--target T]   write the seed corpora (DIR/T/NAME)
 *   msr_fuzz_replay --dict FILE --target T     write T's dictionary
 *   msr_fuzz_replay --targets                  list the targets: name, max_len, summary
 *
 * Exit status of a replay: 0 KVM agrees with the model, 1 a divergence
 * (printed: expected vs actual, the decoded input), 3 a harness bug, 4
 * SKIP (no /dev/kvm).  In TAP mode every file runs in a process of its own
 * and a divergence is "not ok"; scripts/run_tests.sh turns the ones listed
 * in the backend baseline into XFAIL.  DIR defaults to fuzz-regressions/
 * next to the binary (installed) or the source tree's fuzz/regressions/.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "kselftest.h"

#ifndef FUZZ_REGRESSIONS_DIR
#define FUZZ_REGRESSIONS_DIR "fuzz/regressions"
#endif

/* Weak: the binary builds (and says so) while a target is missing. */
extern const struct fuzz_target fuzz_target_msr_filter __attribute__((weak));
extern const struct fuzz_target fuzz_target_msr_exit __attribute__((weak));
extern const struct fuzz_target fuzz_target_msrs_ioctl __attribute__((weak));

static const struct fuzz_target *targets[3];
static unsigned int NR_TARGETS;

static void targets_init(void)
{
	const struct fuzz_target *all[] = {
		&fuzz_target_msr_filter, &fuzz_target_msr_exit, &fuzz_target_msrs_ioctl,
	};
	unsigned int i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i])
			targets[NR_TARGETS++] = all[i];
}

static const struct fuzz_target *target_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_TARGETS; i++)
		if (!strcmp(targets[i]->name, name))
			return targets[i];
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: msr_fuzz_replay [--target T] FILE|DIR...\n"
		"       msr_fuzz_replay [-l] [-r TARGET.NAME] [REGRESSIONS_DIR]\n"
		"       msr_fuzz_replay --signature --target T FILE\n"
		"       msr_fuzz_replay --seeds DIR [--target T] | --dict FILE --target T | --targets\n");
	exit(FUZZ_EXIT_HARNESS);
}

static uint8_t *read_file(const char *path, size_t *n)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	*n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* The target of @path: --target, else its directory's name. */
static const struct fuzz_target *target_of(const char *path, const struct fuzz_target *given)
{
	char copy[PATH_MAX];

	if (given)
		return given;
	snprintf(copy, sizeof(copy), "%s", path);
	return target_by_name(basename(dirname(copy)));
}

static int replay_file(const struct fuzz_target *t, const char *path)
{
	size_t n;
	uint8_t *data = read_file(path, &n);
	int rc;

	if (!data) {
		fprintf(stderr, "msr_fuzz_replay: %s: %s\n", path, strerror(errno));
		return FUZZ_EXIT_HARNESS;
	}
	rc = fuzz_run_one(t, data, n);
	printf("%s %s: %s%s%s\n", t->name, path, rc ? "DIVERGENCE" : "agrees with the model",
	       rc ? " " : "", fuzz_last_sig());
	return rc;
}

static bool regular(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of @dir, sorted (no dot files); returns their count. */
static unsigned int list_dir(const char *dir, char ***out)
{
	char **names = NULL, path[PATH_MAX];
	unsigned int n = 0;
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (!regular(path))
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(d->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), names_cmp);
	*out = names;
	return n;
}

static int replay_paths(const struct fuzz_target *given, int argc, char **argv)
{
	int i, worst = 0;

	fuzz_replay_mode = true;
	for (i = 0; i < argc; i++) {
		char **names, path[PATH_MAX];
		unsigned int n, j;
		int rc;

		if (!regular(argv[i])) {
			n = list_dir(argv[i], &names);
			for (j = 0; j < n; j++) {
				snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]);
				char *sub[] = { path };

				rc = replay_paths(given ? given : target_of(path, NULL), 1, sub);
				worst = rc > worst ? rc : worst;
			}
			continue;
		}
		const struct fuzz_target *t = target_of(argv[i], given);

		if (!t) {
			fprintf(stderr, "msr_fuzz_replay: which target is %s? Pass --target "
				"(msr_filter, msr_exit, msrs_ioctl)\n", argv[i]);
			return FUZZ_EXIT_HARNESS;
		}
		rc = replay_file(t, argv[i]);
		worst = rc > worst ? rc : worst;
	}
	return worst;
}

static const char *default_regressions(const char *argv0)
{
	(void)argv0;
	return msr_dir_next_to_exe("fuzz-regressions", FUZZ_REGRESSIONS_DIR);
}

/*
 * One regression file in a child process: its exit status.  The child ends
 * with the DIVERGENCE-* lines of subtest @name (the signature the file was
 * saved under), which scripts/run_tests.sh matches with the baseline.
 */
static int replay_isolated(const struct fuzz_target *t, const char *path, const char *name)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid) {
		int rc;

		fuzz_replay_mode = true;
		rc = replay_file(t, path);
		if (rc == FUZZ_EXIT_OK || rc == FUZZ_EXIT_DIVERGENCE)
			fuzz_tally_print(name, name);
		fflush(NULL);
		_exit(rc);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return FUZZ_EXIT_HARNESS;
	if (WIFSIGNALED(status)) {
		printf("# %s: killed by signal %d\n", path, WTERMSIG(status));
		return FUZZ_EXIT_DIVERGENCE;
	}
	return WEXITSTATUS(status);
}

static int regressions_tap(const char *dir, const char *only, bool list)
{
	unsigned int ti, total = 0, j;
	char **names[3], path[PATH_MAX], name[PATH_MAX];
	unsigned int count[3];

	for (ti = 0; ti < NR_TARGETS; ti++) {
		snprintf(path, sizeof(path), "%s/%s", dir, targets[ti]->name);
		count[ti] = list_dir(path, &names[ti]);
		for (j = 0; j < count[ti]; j++) {
			snprintf(name, sizeof(name), "%s.%s", targets[ti]->name, names[ti][j]);
			if (list)
				printf("%s\n", name);
			if (!only || !strcmp(only, name))
				total++;
		}
	}
	if (list)
		return 0;
	if (only && !total) {
		fprintf(stderr, "msr_fuzz_replay: no regression %s in %s\n", only, dir);
		return FUZZ_EXIT_HARNESS;
	}

	ksft_print_header();
	ksft_set_plan(total);
	printf("# regression corpus %s: every saved finding replayed against the model\n", dir);
	for (ti = 0; ti < NR_TARGETS; ti++) {
		for (j = 0; j < count[ti]; j++) {
			int rc;

			snprintf(name, sizeof(name), "%s.%s", targets[ti]->name, names[ti][j]);
			if (only && strcmp(only, name))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", dir, targets[ti]->name, names[ti][j]);
			rc = replay_isolated(targets[ti], path, name);
			if (rc == FUZZ_EXIT_OK)
				ksft_test_result_pass("%s\n", name);
			else if (rc == FUZZ_EXIT_SKIP)
				ksft_test_result_skip("%s\n", name);
			else
				ksft_test_result_fail("%s\n", name);
		}
	}
	ksft_finished();
	return 0;
}

struct emit_ctx {
	const char *dir;
	FILE *dict;
	unsigned int n;
};

static void emit_seed(struct fuzz_emit *e, const char *name, const struct fuzz_out *o)
{
	struct emit_ctx *c = e->ctx;
	char path[PATH_MAX];
	FILE *f;

	if (!c->dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	f = fopen(path, "wb");
	FUZZ_HARNESS_ASSERT(f, "cannot write %s: %s", path, strerror(errno));
	FUZZ_HARNESS_ASSERT(fwrite(o->buf, 1, o->n, f) == o->n, "short write to %s", path);
	fclose(f);
	c->n++;
}

static void emit_token(struct fuzz_emit *e, const char *name, const void *p, size_t len)
{
	struct emit_ctx *c = e->ctx;
	size_t i;

	if (!c->dict)
		return;
	fprintf(c->dict, "%s=\"", name);
	for (i = 0; i < len; i++)
		fprintf(c->dict, "\\x%02x", ((const uint8_t *)p)[i]);
	fprintf(c->dict, "\"\n");
	c->n++;
}

static int write_seeds(const char *dir, const struct fuzz_target *only)
{
	unsigned int i;
	char sub[PATH_MAX];

	for (i = 0; i < NR_TARGETS; i++) {
		struct emit_ctx c = { .dir = sub };
		struct fuzz_emit e = { .seed = emit_seed, .token = emit_token, .ctx = &c };

		if (only && only != targets[i])
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, targets[i]->name);
		mkdir(dir, 0755);
		mkdir(sub, 0755);
		targets[i]->seeds(&e);
		printf("%s: %u seeds in %s\n", targets[i]->name, c.n, sub);
	}
	return 0;
}

static int write_dict(const char *file, const struct fuzz_target *t)
{
	struct emit_ctx c = { .dict = fopen(file, "w") };
	struct fuzz_emit e = { .seed = emit_seed, .token = emit_token, .ctx = &c };

	FUZZ_HARNESS_ASSERT(c.dict, "cannot write %s: %s", file, strerror(errno));
	fprintf(c.dict, "# %s: generated by msr_fuzz_replay --dict from the MSR catalog\n", t->name);
	fuzz_emit_catalog_tokens(&e);
	t->seeds(&e);
	fclose(c.dict);
	printf("%s: %u tokens in %s\n", t->name, c.n, file);
	return 0;
}

int main(int argc, char **argv)
{
	const struct fuzz_target *t = NULL;
	const char *seeds = NULL, *dict = NULL, *only = NULL;
	bool signature = false, list = false;
	int i;

	targets_init();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--target") && i + 1 < argc) {
			t = target_by_name(argv[++i]);
			if (!t) {
				fprintf(stderr, "msr_fuzz_replay: no target %s\n", argv[i]);
				usage();
			}
		} else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
			seeds = argv[++i];
		} else if (!strcmp(argv[i], "--dict") && i + 1 < argc) {
			dict = argv[++i];
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "-l")) {
			list = true;
		} else if (!strcmp(argv[i], "--signature")) {
			signature = true;
		} else if (!strcmp(argv[i], "--targets")) {
			unsigned int j;

			for (j = 0; j < NR_TARGETS; j++)
				printf("%-12s %6zu  %s\n", targets[j]->name, targets[j]->max_len,
				       targets[j]->summary);
			return 0;
		} else {
			usage();
		}
	}

	if (seeds)
		return write_seeds(seeds, t);
	if (dict) {
		if (!t)
			usage();
		return write_dict(dict, t);
	}
	if (signature) {
		if (!t || i != argc - 1)
			usage();
		fuzz_replay_mode = true;
		replay_file(t, argv[i]);
		printf("%s\n", fuzz_last_sig());
		return 0;
	}
	if (list || only || i == argc || (i == argc - 1 && !t && !regular(argv[i]) &&
					   !target_of(argv[i], NULL)))
		return regressions_tap(i < argc ? argv[i] : default_regressions(argv[0]), only, list);
	return replay_paths(t, argc - i, argv + i);
}
