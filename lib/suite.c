// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suite.h"

static bool arg_needs_no_kvm(const char *arg)
{
	return !strcmp(arg, "-l") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

#ifdef KSFT_HARNESS_SKIP_255
/*
 * Older harnesses take only exit(255) from a test child as SKIP, while the
 * library's TEST_REQUIRE() exits with KSFT_SKIP (4), which they report as a
 * failure.  Translate in the children (not in main, whose exit code is the
 * binary's result).
 */
static pid_t suite_main_pid;

static void suite_translate_skip(int status, void *arg)
{
	(void)arg;
	if (getpid() != suite_main_pid && status == KSFT_SKIP) {
		fflush(NULL);
		_exit(255);
	}
}
#endif

void suite_init(int argc, char **argv)
{
	int i, fd;

	for (i = 1; i < argc; i++)
		if (arg_needs_no_kvm(argv[i]))
			return;

#ifdef KSFT_HARNESS_SKIP_255
	suite_main_pid = getpid();
	on_exit(suite_translate_skip, NULL);
#endif

	fd = open(KVM_DEV_PATH, O_RDWR);
	if (fd < 0) {
		int err = errno;

		ksft_print_header();
		ksft_exit_skip("cannot open %s: %s (needs a kernel with KVM and permission to open it)\n",
			       KVM_DEV_PATH, strerror(err));
	}
	close(fd);
}

static void suite_kvm_run_timeout(int sig)
{
	static const char msg[] = "==== Test Assertion Failure ====\n"
		"  KVM_RUN did not return within the suite's bound; the vCPU is stuck\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(KSFT_FAIL);
	_exit(KSFT_FAIL);
}

static int suite_bounded(int (*run)(struct kvm_vcpu *vcpu), struct kvm_vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = suite_kvm_run_timeout };
	int rc;

	sigaction(SIGALRM, &sa, NULL);
	alarm(SUITE_KVM_RUN_TIMEOUT_S);
	rc = run(vcpu);
	alarm(0);
	return rc;
}

int suite_vcpu_run(struct kvm_vcpu *vcpu)
{
	return suite_bounded(_vcpu_run, vcpu);
}

static int vcpu_run_ioctl(struct kvm_vcpu *vcpu)
{
	return __vcpu_run(vcpu);
}

int suite_vcpu_run_once(struct kvm_vcpu *vcpu)
{
	return suite_bounded(vcpu_run_ioctl, vcpu);
}

void suite_vcpu_run_ok(struct kvm_vcpu *vcpu)
{
	int rc = suite_vcpu_run(vcpu);

	TEST_ASSERT(!rc, "KVM_RUN failed: rc %d, errno %d (%s)", rc, errno, strerror(errno));
}

void suite_report(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	fprintf(stderr, "# ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

void suite_text_line(struct suite_text *t, const char *fmt, ...)
{
	size_t room = sizeof(t->buf) - t->len;
	va_list ap;
	int n;

	if (room < 4)
		return;
	memcpy(t->buf + t->len, "# ", 2);
	t->len += 2;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room - 3, fmt, ap);
	va_end(ap);
	t->len += n < 0 ? 0 : (size_t)n < room - 3 ? (size_t)n : room - 4;
	t->buf[t->len++] = '\n';
}

void suite_text_flush(struct suite_text *t, FILE *out)
{
	int fd = fileno(out);

	fflush(stdout);
	fflush(out);
	/* write(2) where there is a file descriptor: one call, one block. */
	if (t->len && (fd >= 0 ? write(fd, t->buf, t->len) < 0 :
		       fwrite(t->buf, 1, t->len, out) != t->len))
		clearerr(out);
	fflush(out);
	t->len = 0;
}

void *suite_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap of %zu shared bytes", size);
	return p;
}

unsigned int suite_fork_workers(void (*fn)(unsigned int w, unsigned int n, void *arg), void *arg,
				unsigned int n)
{
	unsigned int w, dead = 0;
	pid_t pids[32];

	TEST_ASSERT(n >= 1 && n <= 32, "%u workers", n);
	fflush(NULL);
	for (w = 1; w < n; w++) {
		pids[w] = fork();
		TEST_ASSERT(pids[w] >= 0, "fork");
		if (!pids[w]) {
			fn(w, n, arg);
			fflush(NULL);
			_exit(0);
		}
	}
	fn(0, n, arg);
	for (w = 1; w < n; w++) {
		int status;

		TEST_ASSERT(waitpid(pids[w], &status, 0) == pids[w], "waitpid");
		if (WIFEXITED(status) && !WEXITSTATUS(status))
			continue;
		dead |= 1u << w;
		suite_report(NULL, "FAIL worker %u of %u died (status %#x); its messages are above", w,
			     n, status);
	}
	return dead;
}
