#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/kmutate.sh (run by vmtest.sh --guest-run inside the
# VM, after the KVM modules are loaded).  Runs each binary of the suite
# (through its runner, against the baseline) one at a time, then each of
# upstream's MSR selftests in /add/upstream (each bounded by
# KMUTATE_UPSTREAM_TIMEOUT seconds, default 90), and after every binary
# reports the kernel's health: its taint (compared with the taint right
# after the modules were loaded: O and E for unsigned out-of-tree modules)
# and the WARNING/BUG/Oops lines it added to the kernel log.
#
# Output (stdout), besides each binary's own TAP:
#   KMUTATE-BOOT taint=<n>
#   KMUTATE-BEGIN ours|upstream <binary>
#   KMUTATE-UPSTREAM <binary> rc=<n>
#   KMUTATE-HEALTH ours|upstream <binary> taint=<n> warn=<n> bug=<n>
#   KMUTATE-LOG <kernel log line>       (each new WARNING/BUG line, first 5)
#   KMUTATE-END
set -u

utimeout=${KMUTATE_UPSTREAM_TIMEOUT:-90}
taint0=$(cat /proc/sys/kernel/tainted)
echo "KMUTATE-BOOT taint=$taint0"
dmesg > /tmp/dmesg.0

# The kernel log lines added since the last call that report trouble.
health() {
	dmesg > /tmp/dmesg.1
	tail -n +"$(( $(wc -l < /tmp/dmesg.0) + 1 ))" /tmp/dmesg.1 > /tmp/dmesg.new
	mv /tmp/dmesg.1 /tmp/dmesg.0
	echo "KMUTATE-HEALTH $1 $2 taint=$(cat /proc/sys/kernel/tainted)" \
		"warn=$(grep -c 'WARNING:' /tmp/dmesg.new)" \
		"bug=$(grep -cE 'BUG:|Oops|general protection|kernel BUG' /tmp/dmesg.new)"
	grep -E 'WARNING:|BUG:|Oops|general protection' /tmp/dmesg.new | head -5 | sed 's/^/KMUTATE-LOG /'
}

base=
[ -d /suite/kvm-msr-suite/baseline ] && base="--baseline /suite/kvm-msr-suite/baseline"
while read -r entry; do
	t=${entry#*:}
	echo "KMUTATE-BEGIN ours $t"
	# shellcheck disable=SC2086
	bash /suite/kvm-msr-suite/run_tests.sh $base /suite -t "$entry"
	health ours "$t"
done < /suite/kselftest-list.txt

for u in /add/upstream/*; do
	[ -x "$u" ] || continue
	t=$(basename "$u")
	echo "KMUTATE-BEGIN upstream $t"
	timeout -k 5 "$utimeout" "$u" 2>&1 | sed 's/^/# /'
	echo "KMUTATE-UPSTREAM $t rc=${PIPESTATUS[0]}"
	health upstream "$t"
done
echo "KMUTATE-END"
