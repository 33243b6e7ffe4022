#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Plant a wrong rule in the reference model and show which signatures each
# oracle user fails with: the matrix, msr_exit and msr_filter must all go
# red, with the same <msr>.<op>.<check> where they reach the rule.
#
#   tests/plant/plant.sh [-j N] [--same] PATCH...
#
# PATCH is a patch to lib/ (e.g. tests/plant/rdmsr_completion_edx_eax.patch).
# The suite is copied to build/plant/<patch>/, patched, built against the
# same kernel tree as this checkout's build (make KSRC=...), and run on
# this machine's /dev/kvm twice, unpatched (this checkout's build) and
# patched, with no baseline (every divergence counts):
#   matrix     every group of msr_filter_exit_matrix_test (DIVERGENCE-NEW lines)
#   msr_exit   its generated seed corpus, replayed (MSR_FUZZ_STRICT=1)
#   msr_filter the same
# Printed: per source, the signatures only the patched build fails with,
# and the <msr>.<op>.<check> all three fail with.  Exit 0 if every source
# fails (with --same: and one signature is common to all three), 1 if
# not, 2 if it could not run (no build, a patch that does not apply), 4
# (SKIP) without /dev/kvm.
set -u

SUITE=$(cd "$(dirname "$0")/../.." && pwd)
jobs=2 same=0
die() { echo "plant: error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=${2:?-j needs a number}; shift 2 ;;
	--same) same=1; shift ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die "usage: tests/plant/plant.sh [-j N] [--same] PATCH..."
"$SUITE/scripts/need.sh" kvm || exit 4

# This checkout's build: the unpatched reference and the kernel tree it used.
ref=$(ls -d "$SUITE"/build/*/suite/tests/msr_filter_exit_matrix_test 2>/dev/null | head -1)
[ -n "$ref" ] || die "no build here: run 'make' first"
out=${ref%/suite/tests/msr_filter_exit_matrix_test}
ksrc=$SUITE/build/src/$(basename "$out" | sed 's/^debian-/linux-source-/')
[ -d "$ksrc/tools/testing/selftests/kvm" ] || die "cannot find the kernel tree of $out (tried $ksrc)"

name=$(basename "$1" .patch)
work=$SUITE/build/plant/$name
rm -rf "$work"
mkdir -p "$work/src"
(cd "$SUITE" && git ls-files -z | xargs -0 cp --parents -t "$work/src") ||
	die "cannot copy the suite to $work/src"
for p in "$@"; do
	patch -s -d "$work/src" -p1 < "$p" || die "$p does not apply to this checkout"
done
echo "plant: building the patched suite in $work (KSRC=$ksrc)" >&2
make -s -C "$work/src" -j"$jobs" O="$work/build" KSRC="$ksrc" suite > "$work/build.log" 2>&1 ||
	die "the patched suite does not build: $work/build.log"
pout=$(ls -d "$work"/build/*/suite | head -1)

# The signatures of one build, one per line: matrix.<...>, msr_exit.<...>, msr_filter.<...>.
signatures() {	# suite_dir seeds_dir
	MSR_BASELINE= "$1/tests/msr_filter_exit_matrix_test" 2>&1 |
		awk '/DIVERGENCE-NEW/ { print $4 }'
	for t in msr_exit msr_filter; do
		rm -rf "$2/$t"
		"$1/../fuzz/replay/msr_fuzz_replay" --seeds "$2" --target $t > /dev/null 2>&1
		MSR_FUZZ_STRICT=1 "$1/../fuzz/replay/msr_fuzz_replay" --target $t "$2/$t" 2>&1 |
			sed -n "s/^==== kvm-msr-suite fuzz: DIVERGENCE \($t\.[^ ]*\) ====$/\1/p"
	done | sort -u
}

signatures "${ref%/tests/msr_filter_exit_matrix_test}" "$work/seeds-ref" | sort -u > "$work/ref.sigs"
signatures "$pout" "$work/seeds-plant" | sort -u > "$work/plant.sigs"
comm -13 "$work/ref.sigs" "$work/plant.sigs" > "$work/new.sigs"

rc=0
for src in matrix msr_exit msr_filter; do
	n=$(grep -c "^$src\." "$work/new.sigs")
	echo "$src: $n signatures only the patched model fails with"
	grep "^$src\." "$work/new.sigs" | sed 's/^/  /'
	[ "$n" -gt 0 ] || rc=1
done
common=$(for src in matrix msr_exit msr_filter; do
		grep "^$src\." "$work/new.sigs" | sed "s/^$src\.//" | sort -u
	 done | sort | uniq -c | awk '$1 == 3 { print $2 }')
if [ -n "$common" ]; then
	echo "in all three:"
	echo "$common" | sed 's/^/  /'
else
	echo "no signature is common to the matrix, msr_exit and msr_filter"
	[ $same = 0 ] || rc=1
fi
exit $rc
