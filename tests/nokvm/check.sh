#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check where /dev/kvm does not exist: a contributor or a CI runner
# without KVM must get exit 0, the model's unit tests run and passed, and
# everything that needs KVM skipped with the reason (scripts/need.sh).
#
#   tests/nokvm/check.sh [--log FILE] [--timeout SECS] CMD [ARG...]
#
# Runs CMD (make check, as the Makefile's check target passes it) in a
# private mount namespace whose /dev is a tmpfs with only null, zero, full,
# random, urandom and tty (bind-mounted from the real /dev), shm and the fd
# links: no kvm node.  The build is the one already made (building needs no
# /dev/kvm), so the run only installs and runs the tests without KVM.
# Asserts: exit 0; every unit test (tests/unit/*.c) ran and passed; every
# KVM test binary SKIPped; the summary says the fuzz smoke run SKIPped for
# the missing /dev/kvm.  The whole output goes to FILE (default: a
# temporary file), and is printed when an assertion fails.
#
# Needs root (mounts) and unshare; without them, or when already inside
# such a run (KVM_MSR_SUITE_NOKVM is set: the inner make check comes here
# too and must not recurse), it SKIPs (exit 4).  Bounded by --timeout
# (default 600 s).  Exit status: 0 passed, 1 an assertion failed, 4 SKIP.
set -u

SUITE=$(cd "$(dirname "$0")/../.." && pwd)
what="make check without /dev/kvm"
need() { "$SUITE/scripts/need.sh" "$@"; }
log= timeout_s=600

while [ $# -gt 0 ]; do
	case "$1" in
	--log) log=${2:?--log needs a file}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--log FILE] [--timeout SECS] CMD [ARG...]" >&2; exit 2; }

[ -z "${KVM_MSR_SUITE_NOKVM:-}" ] || { need --skip "$what" "this is the run without /dev/kvm"; exit 4; }
need --what "$what" root || exit 4
command -v unshare > /dev/null ||
	{ need --skip "$what" "no unshare" "apt-get install util-linux"; exit 4; }
unshare -m --propagation private true 2> /dev/null ||
	{ need --skip "$what" "unshare -m is not permitted here" "needs CAP_SYS_ADMIN"; exit 4; }

[ -n "$log" ] || { log=$(mktemp "${TMPDIR:-/tmp}/nokvm-check.XXXXXX"); }
mkdir -p "$(dirname "$log")"
echo "$what: $* (log: $log)"

start=$SECONDS
# The namespace's /dev, then CMD in it.  NEED_* belong to the outer make
# check's steps, not to the inner one.
timeout -k 10 "$timeout_s" env -u NEED_SUMMARY -u NEED_SKIPPED KVM_MSR_SUITE_NOKVM=1 \
	unshare -m --propagation private bash -c '
	set -e
	host=$(mktemp -d "${TMPDIR:-/tmp}/nokvm-hostdev.XXXXXX")
	mount --bind /dev "$host"
	mount -t tmpfs -o mode=755,nosuid nokvm-dev /dev
	for n in null zero full random urandom tty; do
		: > /dev/$n
		mount --bind "$host/$n" /dev/$n
	done
	umount "$host" && rmdir "$host"
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mkdir /dev/shm /dev/pts
	mount -t tmpfs -o mode=1777,nosuid,nodev nokvm-shm /dev/shm
	if [ -e /dev/kvm ]; then echo "nokvm: /dev/kvm is still there" >&2; exit 99; fi
	echo "nokvm: /dev is now: $(ls /dev | tr "\n" " ")"
	exec "$@"' nokvm "$@" < /dev/null > "$log" 2>&1
rc=$?
elapsed=$((SECONDS - start))

fail=0
problem() { echo "  FAIL  $*"; fail=1; }

case "$rc" in
0) ;;
124|137) problem "exceeded ${timeout_s}s (killed)" ;;
99) problem "/dev/kvm could not be hidden" ;;
*) problem "exit $rc, expected 0" ;;
esac

# The unit tests: kselftest collection kvm-msr-suite-unit, one line each.
units=0
for src in "$SUITE"/tests/unit/*.c; do
	t=$(basename "$src" .c)
	if grep -Eq "^ok [0-9]+ selftests: kvm-msr-suite-unit: $t\$" "$log"; then
		units=$((units + 1))
	elif grep -Eq "^not ok [0-9]+ selftests: kvm-msr-suite-unit: $t( |\$)" "$log"; then
		problem "unit test $t failed"
	else
		problem "unit test $t did not run (or SKIPped)"
	fi
done
[ "$units" -gt 0 ] || problem "no unit test passed"

# Everything that needs KVM SKIPs: no KVM test binary fails, and what
# passed (scripts/run_tests.sh counts subtests) is the unit tests' subtests.
kvm_skip=$(grep -Ec '^ok [0-9]+ selftests: kvm-msr-suite: [^ ]+ # SKIP' "$log")
kvm_fail=$(grep -Ec '^not ok [0-9]+ selftests: kvm-msr-suite: ' "$log")
[ "$kvm_skip" -gt 0 ] || problem "no KVM test binary SKIPped"
[ "$kvm_fail" = 0 ] || problem "$kvm_fail KVM test binaries failed without /dev/kvm"
unit_pass=$(awk '/^# selftests: kvm-msr-suite-unit: / { u = 1; next }
	/^(not )?ok [0-9]+ selftests: / { u = 0 }
	u && /^# ok [0-9]+ / && !/# SKIP/ { n++ } END { print n + 0 }' "$log")
totals=$(grep -a '^Totals: ' "$log" | tail -1)
echo "$totals" | grep -Eq "^Totals: $unit_pass passed, 0 failed, " ||
	problem "suite totals '${totals:-none}': expected the $unit_pass unit subtests passed, none failed, the rest skipped"
[ "$unit_pass" -gt 0 ] || problem "no unit subtest passed"
grep -q '^  fuzz smoke: SKIP (no /dev/kvm)' "$log" || problem "the summary does not say 'fuzz smoke: SKIP (no /dev/kvm)'"

if [ "$fail" = 0 ]; then
	echo "$what: exit 0 after ${elapsed}s: $units unit tests ($unit_pass subtests) passed, $kvm_skip KVM test binaries SKIPped ($totals)"
	sed -n '/^==== make check: summary ====/,$p' "$log" | sed 's/^/  inner: /'
	exit 0
fi
echo "$what: FAILED after ${elapsed}s; its output ($log):"
sed 's/^/  | /' "$log" | tail -150
exit 1
