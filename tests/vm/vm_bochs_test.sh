#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bounds and verdicts of scripts/vm-bochs.sh (vmtest.sh --emulator
# bochs) and vmtest.sh's argument checks, in seconds and without Bochs: a
# fake bochs-bin on PATH plays the guest (writes the serial files named in
# the bochsrc) and then powers off, panics, reboots, hangs before init,
# hangs after the suite, or dies at once.  The boot disk is made for real
# (mkfs.vfat, syslinux, mcopy).  Part of make check.
#
#   tests/vm/vm_bochs_test.sh      exit 0 when every verdict is right,
#                                  4 (SKIP) without the boot disk tools
set -u

SUITE=$(cd "$(dirname "$0")/../.." && pwd)
for t in mkfs.vfat syslinux mcopy; do
	PATH=$PATH:/usr/sbin:/sbin command -v "$t" > /dev/null ||
		exec "$SUITE/scripts/need.sh" --skip "vm-bochs test" "no $t" "scripts/setup.sh bochs as root"
done
export PATH=$PATH:/usr/sbin:/sbin
work=$(mktemp -d "${TMPDIR:-/tmp}/vm_bochs_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0 passes=0

# The fake emulator: $FAKE_GUEST says what the guest does.
mkdir -p "$work/bin"
cat > "$work/bin/bochs-bin" <<'EOF'
#!/bin/bash
rc=
while [ $# -gt 0 ]; do [ "$1" = -f ] && rc=$2; shift; done
con=$(sed -n 's/^com1:.*dev=//p' "$rc") tap=$(sed -n 's/^com2:.*dev=//p' "$rc")
grep -q '^ata0-master: type=disk, path=.*, mode=flat, cylinders=[1-9]' "$rc" || { echo "bad bochsrc" >&2; exit 1; }
case "$FAKE_GUEST" in
ok)	 echo 'vmtest-guest: VMTEST-BOOTED 6.12' >> "$con"; echo 'ok 1 selftests: x: y' >> "$tap"
	 echo 'vmtest-guest: VMTEST-STATUS 0' >> "$con"; sleep 1; exit 1 ;;
panic)	 echo 'vmtest-guest: VMTEST-BOOTED 6.12' >> "$con"; echo 'Kernel panic - not syncing: x' >> "$con"; sleep 60 ;;
reboot)	 for i in 1 2; do echo 'vmtest-guest: VMTEST-BOOTED 6.12' >> "$con"; done; sleep 60 ;;
noinit)	 echo '[    0.0] early' >> "$con"; sleep 60 ;;
nooff)	 echo 'vmtest-guest: VMTEST-BOOTED 6.12' >> "$con"; echo 'vmtest-guest: VMTEST-STATUS 1' >> "$con"; sleep 60 ;;
hang)	 echo 'vmtest-guest: VMTEST-BOOTED 6.12' >> "$con"; sleep 60 ;;
die)	 echo 'Bochs is exiting: no ROM' ; exit 1 ;;
esac
EOF
chmod +x "$work/bin/bochs-bin"
head -c 4096 /dev/zero > "$work/kernel"
head -c 4096 /dev/zero > "$work/initrd"

# expect_boot GUEST RC WHY-PATTERN MAX-SECONDS
expect_boot() {
	local guest=$1 want=$2 why=$3 max=$4 rc start t out
	start=$(date +%s)
	out=$(cd "$work" && PATH=$work/bin:$PATH FAKE_GUEST=$guest BOCHS_GRACE=1 BOCHS_BOOT_TIMEOUT=2 bash -c '
		. "$1/scripts/vm-bochs.sh"
		bochs_boot kernel initrd "x=1" . "$2" console.log tap.out; rc=$?
		echo "why: $bochs_why"; exit $rc' sh "$SUITE" 5 2>&1)
	rc=$? t=$(( $(date +%s) - start ))
	if [ "$rc" = "$want" ] && echo "$out" | grep -q -- "$why" && [ "$t" -le "$max" ]; then
		passes=$((passes + 1)); echo "ok $guest: exit $rc after ${t}s"
	else
		fails=$((fails + 1)); echo "FAIL $guest: exit $rc after ${t}s (want $want within ${max}s, '$why'):"
		echo "$out" | sed 's/^/    /'
	fi
}

expect_boot ok 0 'ok 1 selftests' 5		# the TAP reached stdout
expect_boot panic 3 'panicked' 6
expect_boot reboot 3 'rebooted' 6
expect_boot noinit 124 'did not reach init' 6
expect_boot nooff 0 'did not power off' 6
expect_boot hang 124 'did not finish within 5s' 10
expect_boot die 2 'before the guest printed anything: Bochs is exiting' 5
grep -q '^APPEND x=1$' <(mtype -i "$work/disk.img" ::syslinux.cfg | tr -d '\r' | sed 's/^ *//') &&
	{ passes=$((passes + 1)); echo "ok syslinux.cfg on the boot disk"; } ||
	{ fails=$((fails + 1)); echo "FAIL syslinux.cfg on the boot disk"; }

# vmtest.sh's argument checks come before anything is built or booted.
expect_args() {
	local want=$1 msg=$2 rc out; shift 2
	out=$("$SUITE/scripts/vmtest.sh" "$@" 2>&1 < /dev/null); rc=$?
	if [ "$rc" = "$want" ] && echo "$out" | grep -q -- "$msg"; then
		passes=$((passes + 1)); echo "ok vmtest.sh $*: exit $rc"
	else
		fails=$((fails + 1)); echo "FAIL vmtest.sh $*: exit $rc, want $want and '$msg':"; echo "$out" | sed 's/^/    /'
	fi
}
expect_args 2 "--emulator must be qemu or bochs" --emulator vbox
expect_args 2 "--accel is for QEMU" --emulator bochs --accel kvm

echo "vm_bochs_test: $passes passed, $fails failed"
[ "$fails" = 0 ]
