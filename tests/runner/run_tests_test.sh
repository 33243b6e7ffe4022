#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The verdicts of scripts/run_tests.sh, on canned runner output (no KVM):
# a failed subtest is XFAIL only when its tally says every failing check is
# covered by the baseline; an uncovered check, a failure without a tally or
# a crashed binary fails and names what failed; per entry KNOWN / XPASS /
# not exercised; --known only annotates.  Part of make check.
#
#   tests/runner/run_tests_test.sh      exit 0 when every verdict is right
set -u

SUITE=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/run_tests_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 passes=0

# An installed suite whose runner prints the TAP below and whose backend is kvm_fake.
inst=$work/install
mkdir -p "$inst/kvm-msr-suite" "$work/baseline"
cp "$SUITE/scripts/run_tests.sh" "$inst/kvm-msr-suite/"
printf '#!/bin/sh\necho kvm_fake\n' > "$inst/kvm-msr-suite/backend.sh"
cat > "$inst/run_kselftest.sh" <<'TAP'
#!/bin/sh
cat <<'OUT'
TAP version 13
1..2
# selftests: kvm-msr-suite: fake_test
# TAP version 13
# 1..4
# # DIVERGENCE-TALLY g.all_known failures=3 unmatched=0
# # DIVERGENCE-KNOWN g.all_known kvm_fake.txt:2 checked=5 failed=3
# not ok 1 g.all_known
# # DIVERGENCE-TALLY g.one_new failures=2 unmatched=1
# # DIVERGENCE-KNOWN g.one_new kvm_fake.txt:2 checked=1 failed=1
# # DIVERGENCE-NEW g.one_new matrix.msr_star.wrmsr.readback.access_handled guest:+lm,-ibpb cases=1
# not ok 2 g.one_new
# not ok 3 g.no_tally
# # DIVERGENCE-TALLY g.passes failures=0 unmatched=0
# # DIVERGENCE-KNOWN g.passes kvm_fake.txt:3 checked=4 failed=0
# ok 4 g.passes
not ok 1 selftests: kvm-msr-suite: fake_test # exit=1
# selftests: kvm-msr-suite: crashing_test
not ok 2 selftests: kvm-msr-suite: crashing_test # exit=139
OUT
TAP
chmod +x "$inst/run_kselftest.sh" "$inst/kvm-msr-suite/run_tests.sh" "$inst/kvm-msr-suite/backend.sh"
cat > "$work/baseline/kvm_fake.txt" <<'BASE'
# comment line
matrix.msr_ia32_*_cmd.wrmsr.*.access_invalid | writes completed | evidence
matrix.msr_tsc_aux.rdmsr.* guest:+rdtscp | fixed since | evidence
msrs_ioctl.msr_efer.set.count host:+fxsr_opt | never checked here | evidence
BASE

expect() {	# description, pattern, file
	if grep -qE -- "$2" "$3"; then
		echo "ok    $1"
		passes=$((passes + 1))
	else
		echo "FAIL  $1: no line matching '$2' in the summary:"
		sed -n '/kvm-msr-suite summary/,$p' "$3" | sed 's/^/        /'
		fails=$((fails + 1))
	fi
}
status() {	# description, want, got
	if [ "$2" = "$3" ]; then echo "ok    $1"; passes=$((passes + 1)); else echo "FAIL  $1: exit $3, expected $2"; fails=$((fails + 1)); fi
}

"$inst/kvm-msr-suite/run_tests.sh" --baseline "$work/baseline" "$inst" > "$work/xfail.out" 2>&1
status "--baseline: a new failure fails the run" 1 $?
o=$work/xfail.out
expect "covered failures are XFAIL, naming the entry" '^# XFAIL fake_test:g.all_known \(every failing check is a known divergence: matrix.msr_ia32_\*_cmd.wrmsr.\*.access_invalid\)' "$o"
expect "an uncovered check fails its subtest" '^# FAIL  fake_test:g.one_new$' "$o"
expect "the uncovered signature is listed" '^#         matrix.msr_star.wrmsr.readback.access_handled \(guest:\+lm,-ibpb, 1 checks\)' "$o"
expect "a failure without a tally fails" '^# FAIL  fake_test:g.no_tally$' "$o"
expect "a crashed binary fails" '^# FAIL  crashing_test \[exit=139\]' "$o"
expect "KNOWN per entry, with the count of covered checks" '^# KNOWN matrix.msr_ia32_\*_cmd.wrmsr.\*.access_invalid \(kvm_fake.txt:2\): 4 of 6 covered checks failed' "$o"
expect "an entry whose checks all passed is XPASS" '^# XPASS matrix.msr_tsc_aux.rdmsr.\* guest:\+rdtscp \(kvm_fake.txt:3\)' "$o"
expect "an entry no check reached is not exercised" '^# not exercised: msrs_ioctl.msr_efer.set.count host:\+fxsr_opt \(kvm_fake.txt:4\)' "$o"
expect "the totals count XFAIL as skipped" '^Totals: 1 passed, 3 failed, 1 skipped$' "$o"

"$inst/kvm-msr-suite/run_tests.sh" --known "$work/baseline" "$inst" > "$work/known.out" 2>&1
status "--known: known divergences still fail" 1 $?
o=$work/known.out
expect "--known annotates the covered subtest" '^# FAIL  fake_test:g.all_known \(known divergence: matrix.msr_ia32_\*_cmd.wrmsr.\*.access_invalid\)' "$o"
expect "--known counts it among the failures" '^Totals: 1 passed, 4 failed, 0 skipped$' "$o"

echo "Totals: $passes passed, $fails failed"
[ $fails = 0 ]
