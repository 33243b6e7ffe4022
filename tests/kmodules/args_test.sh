#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input to scripts/kvm-modules.sh, scripts/kmutate.sh and vmtest.sh's
# --kvm-tree/--kvm-patch: each gets exit 2 and a message that says what is
# wrong (and, for a tree of the wrong version, which packages to use).
# Nothing is built or booted: seconds.  Part of make check.
#
#   tests/kmodules/args_test.sh      exit 0 when every case is right
set -u

SUITE=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/kmodules_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 passes=0
export KVM_MODULES_DIR=$work/kb

# expect RC REGEX CMD...: CMD exits RC and its stderr matches REGEX.
expect() {
	local rc=$1 re=$2 got
	shift 2
	"$@" > "$work/out" 2> "$work/err" < /dev/null
	got=$?
	if [ "$got" = "$rc" ] && grep -qzE -- "$re" "$work/err"; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $* -> exit $got (want $rc), stderr:"
		sed 's/^/  | /' "$work/err" | head -8
	fi
}

# A tree of the given version: a Makefile and arch/x86/kvm/Makefile.
fake_tree() {
	mkdir -p "$work/$1/arch/x86/kvm"
	printf 'VERSION = %s\nPATCHLEVEL = %s\nSUBLEVEL = %s\n' $(echo "$2" | tr . ' ') > "$work/$1/Makefile"
	: > "$work/$1/arch/x86/kvm/Makefile"
	echo "$work/$1"
}

KM=$SUITE/scripts/kvm-modules.sh
expect 2 'usage|kvm-modules' "$KM"
expect 2 'unknown option' "$KM" --bogus
expect 2 'is not a directory' "$KM" "$work/nonexistent"
mkdir -p "$work/empty"
expect 2 'is not a Linux source tree' "$KM" "$work/empty"
expect 2 'Linux 5\.15\.0.*linux-source-6\.12 or linux-source-6\.1' "$KM" "$(fake_tree old 5.15.0)"
expect 2 'Linux 6\.12\.1,.*no 6\.12 kernel of that version.*linux-source-6\.12' "$KM" "$(fake_tree t612 6.12.1)"
expect 2 'Linux 6\.1\.3,.*no 6\.1 kernel of that version.*linux-source-6\.1' "$KM" "$(fake_tree t61 6.1.3)"
expect 2 'cannot read' "$KM" --patch "$work/nonexistent.patch"
expect 2 'give no TREE' "$KM" --patch "$work/Makefile" "$work/empty"
echo "not a patch" > "$work/garbage.patch"
expect 2 'series .5\.4. is not supported' "$KM" --patch "$work/garbage.patch" --series 5.4
expect 2 '-j needs a number' "$KM" -j x "$work/empty"

KMU=$SUITE/scripts/kmutate.sh
expect 2 'usage|kmutate' "$KMU"
expect 2 'is not a directory' "$KMU" "$work/nonexistent"
expect 2 'no \*\.patch in' "$KMU" "$work/empty"
expect 2 'no \*\.patch in .* matching' "$KMU" --only 'x*' "$SUITE/tests/kmutants"
expect 2 'series must be 6\.12 or 6\.1' "$KMU" --series 5.4 "$SUITE/tests/kmutants"
expect 2 'needs a number of seconds' "$KMU" --timeout soon "$SUITE/tests/kmutants"

# vmtest.sh checks these before it boots anything (or SKIPs, exit 4,
# without QEMU: then the argument checks are not reached).
VM=$SUITE/scripts/vmtest.sh
if "$SUITE/scripts/need.sh" --what test vm > /dev/null 2>&1; then
	expect 2 'not both' "$VM" --kvm-tree "$work/empty" --kvm-patch "$work/garbage.patch"
	expect 2 'no --kernel /x/bzImage' "$VM" --kernel /x/bzImage --kvm-tree "$work/empty"
	expect 2 'is not a Linux source tree' "$VM" --kvm-tree "$work/empty"
	expect 2 '--add .* is not a directory' "$VM" --add "$work/nonexistent"
else
	echo "SKIP: vmtest.sh cases (no QEMU: scripts/setup.sh vm)"
fi

[ "$(cat "$SUITE/tests/kmutants/"*.patch | grep -c '^Breaks: ')" -ge 20 ] && passes=$((passes + 1)) ||
	{ fails=$((fails + 1)); echo "FAIL: fewer than 20 tests/kmutants/*.patch with a Breaks: header"; }

echo "kvm-modules/kmutate arguments: $passes passed, $fails failed"
[ "$fails" = 0 ]
