#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The one rule for what this machine lacks: a missing /dev/kvm, missing
# permission on it, a missing fuzz engine or a missing emulator is a SKIP
# with the reason and the fix, never a failure.  Scripts exit 4 (kselftest
# SKIP) for it; make targets run through --step, which prints the SKIP line
# and lets make go on (exit 0).  Real failures keep their status.
#
#   scripts/need.sh [--what WHAT] REQ...
#        exit 0 when every REQ is there; otherwise print
#        "WHAT: SKIP (<reason>; <fix>)" for the first missing one, exit 4.
#        REQ: kvm        /dev/kvm exists and opens read-write
#             libfuzzer  clang can link -fsanitize=fuzzer
#             afl        afl-clang-fast and afl-fuzz
#             fuzz       at least one of the two engines
#             vm         qemu-system-x86_64, static busybox, cpio, kmod
#                        (scripts/setup.sh vm, which installs them as root)
#             bochs      bochs-bin with its BIOS files, syslinux, mtools,
#                        mkfs.vfat (scripts/setup.sh bochs, likewise)
#             root       running as root
#   scripts/need.sh --skip WHAT REASON [FIX]
#        print that SKIP line (for requirements of one script), exit 4.
#   scripts/need.sh --step WHAT [--need REQ]... [--want REQ]... [--tally COLL]... -- CMD [ARG...]
#        what a make target runs: a missing --need REQ skips CMD; a missing
#        --want REQ is only noted (CMD SKIPs its own parts without it);
#        --tally counts the kselftest results of collection COLL in CMD's
#        output for the summary.
#        CMD's exit 4 is a SKIP (reason: what it reported through this
#        script), printed and turned into exit 0; any other non-zero status
#        is returned as it is.  The result ("WHAT: ok", "WHAT: SKIP (reason)",
#        "WHAT: FAILED (exit N)", with CMD's last "Totals:" line) is appended
#        to $NEED_SUMMARY when that is set (make check's summary).
#   scripts/need.sh --summary TITLE
#        print $NEED_SUMMARY under TITLE.
#
# Set by --step for CMD and what it runs: NEED_SKIPPED, a file where each
# SKIP of this script is recorded ("WHAT<TAB>REASON"), so the reason of a
# nested SKIP reaches the summary.
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)

# check REQ: set reason and fix and return 1 when REQ is missing.
reason= fix=
check() {
	reason= fix=
	case "$1" in
	kvm)
		if [ ! -e /dev/kvm ]; then
			reason="no /dev/kvm"
			fix="load kvm_intel or kvm_amd (modprobe), or run where KVM is; a container needs --device /dev/kvm"
		elif [ ! -c /dev/kvm ]; then
			reason="/dev/kvm is not a character device"
			fix="check what created it"
		elif ! { : <>/dev/kvm; } 2>/dev/null; then
			if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
				reason="no permission on /dev/kvm"
				local g
				g=$(stat -c %G /dev/kvm 2>/dev/null)
				if [ -n "$g" ] && [ "$g" != root ]; then
					fix="run as root, or join its group: usermod -aG $g $(id -un) (then log in again)"
				else
					fix="run as root, or give it the kvm group (chgrp kvm /dev/kvm; chmod 660 /dev/kvm, as Debian's udev rule does) and join it: usermod -aG kvm $(id -un)"
				fi
			else
				reason="/dev/kvm cannot be opened"
				fix="is a KVM vendor module loaded? (lsmod | grep kvm; dmesg | grep -i kvm)"
			fi
		fi ;;
	libfuzzer)
		command -v "${FUZZ_CLANG:-clang}" >/dev/null &&
		echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
			"${FUZZ_CLANG:-clang}" -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null ||
		{ reason="no libFuzzer (clang -fsanitize=fuzzer)"
		  fix="scripts/setup.sh fuzz as root (apt-get install clang libclang-rt-14-dev)"; } ;;
	afl)
		command -v "${FUZZ_AFL_CC:-afl-clang-fast}" >/dev/null && command -v afl-fuzz >/dev/null ||
		{ reason="no AFL++ (afl-clang-fast, afl-fuzz)"
		  fix="scripts/setup.sh fuzz as root (apt-get install afl++)"; } ;;
	fuzz)
		check libfuzzer || check afl ||
		{ reason="no fuzz engine (neither libFuzzer nor AFL++)"
		  fix="scripts/setup.sh fuzz as root (apt-get install clang libclang-rt-14-dev afl++)"; } ;;
	vm)
		# setup.sh says which packages are missing and installs them as root.
		if ! "$SUITE/scripts/setup.sh" vm; then
			reason="no QEMU or initramfs tools (packages of scripts/setup.sh vm)"
			fix="scripts/setup.sh vm as root: the apt-get line above"
		elif ! command -v qemu-system-x86_64 >/dev/null; then
			reason="no qemu-system-x86_64 in PATH"
			fix="apt-get install qemu-system-x86 (scripts/setup.sh vm), or add its directory to PATH"
		elif [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
			reason="no static /bin/busybox"
			fix="apt-get install busybox-static"
		fi ;;
	bochs)
		if ! "$SUITE/scripts/setup.sh" bochs; then
			reason="no Bochs or boot disk tools (packages of scripts/setup.sh bochs)"
			fix="scripts/setup.sh bochs as root: the apt-get line above"
		elif ! command -v bochs-bin >/dev/null || ! command -v syslinux >/dev/null ||
		     ! command -v mcopy >/dev/null || ! command -v mkfs.vfat >/dev/null; then
			reason="bochs-bin, syslinux, mcopy or mkfs.vfat not in PATH"
			fix="apt-get install bochs syslinux mtools dosfstools (scripts/setup.sh bochs), or add /usr/sbin to PATH"
		elif [ ! -r /usr/share/bochs/BIOS-bochs-latest ] || [ ! -r /usr/share/bochs/VGABIOS-lgpl-latest ]; then
			reason="no Bochs BIOS or VGA BIOS in /usr/share/bochs"
			fix="apt-get install bochsbios vgabios"
		fi ;;
	root)
		[ "$(id -u)" = 0 ] || { reason="not root"; fix="run as root"; } ;;
	*)
		echo "need.sh: unknown requirement '$1' (kvm libfuzzer afl fuzz vm bochs root)" >&2
		exit 2 ;;
	esac
	[ -z "$reason" ]
}

# skip WHAT REASON [FIX]: the SKIP line, recorded for an enclosing --step.
skip() {
	echo "$1: SKIP ($2${3:+; $3})"
	[ -n "${NEED_SKIPPED:-}" ] && printf '%s\t%s\n' "$1" "$2" >> "$NEED_SKIPPED"
	return 4
}

summary_add() {
	[ -n "${NEED_SUMMARY:-}" ] && echo "$*" >> "$NEED_SUMMARY"
	return 0
}

case "${1:-}" in
--skip)
	[ $# -ge 3 ] || { echo "usage: need.sh --skip WHAT REASON [FIX]" >&2; exit 2; }
	skip "$2" "$3" "${4:-}"
	exit ;;
--summary)
	echo "==== ${2:-summary} ===="
	[ -n "${NEED_SUMMARY:-}" ] && [ -r "$NEED_SUMMARY" ] && sed 's/^/  /' "$NEED_SUMMARY"
	exit 0 ;;
--step)
	what=${2:?usage: need.sh --step WHAT [--need REQ]... [--want REQ]... -- CMD...}
	shift 2
	needs=() wants=() tallies=
	while [ $# -gt 0 ]; do
		case "$1" in
		--need) needs+=("$2"); shift 2 ;;
		--want) wants+=("$2"); shift 2 ;;
		--tally) tallies="$tallies $2"; shift 2 ;;
		--) shift; break ;;
		*) echo "need.sh --step: unknown option '$1'" >&2; exit 2 ;;
		esac
	done
	[ $# -gt 0 ] || { echo "need.sh --step: no command" >&2; exit 2; }
	for r in "${needs[@]}"; do
		if ! check "$r"; then
			skip "$what" "$reason" "$fix"
			summary_add "$what: SKIP ($reason)"
			exit 0
		fi
	done
	notes=
	for r in "${wants[@]}"; do
		check "$r" || notes="$notes; $reason: what needs it SKIPped"
	done
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/need.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	: > "$tmp/skipped"
	# CMD's output goes on as it comes; a copy gives its "Totals:" line.
	NEED_SKIPPED=$tmp/skipped "$@" | tee "$tmp/out"
	rc=${PIPESTATUS[0]}
	totals=$(grep -a '^Totals: ' "$tmp/out" | tail -1)
	parts=$(awk -F'\t' '{ sub(/^[ \t]+/, "", $1); printf "%s%s: SKIP (%s)", (NR > 1 ? "; " : ""), $1, $2 }' "$tmp/skipped")
	# --tally COLL: the kselftest runner's results of that collection's
	# binaries ("ok 1 selftests: COLL: NAME").
	tally=$(awk -v colls="$tallies" '/^(not )?ok [0-9]+ selftests: [^ ]+: / {
		o = ($1 == "not"); c = $(4 + o); sub(/:$/, "", c)
		n[c, o ? "failed" : (/# SKIP/ ? "skipped" : "passed")]++; n[c]++
	}
	END {
		nc = split(colls, cl, " ")
		for (i = 1; i <= nc; i++) {
			c = cl[i]; s = ""
			if (!n[c]) continue
			split("passed failed skipped", k, " ")
			for (j = 1; j <= 3; j++) if (n[c, k[j]]) s = s ", " n[c, k[j]] " " k[j]
			printf "    %s: %d binaries%s\n", c, n[c], s
		}
	}' "$tmp/out")
	case "$rc" in
	0)
		summary_add "$what: ok${totals:+ ($totals)}${parts:+ (${parts})}"
		[ -n "$tally" ] && summary_add "$tally"
		[ -n "$notes" ] && summary_add "    ${notes#; }" ;;
	4)
		# The reason CMD gave through this script (it printed it), or
		# whatever its last SKIP line said.
		r=$(tail -1 "$tmp/skipped" | cut -f2)
		if [ -z "$r" ]; then
			r=$(grep -a 'SKIP' "$tmp/out" | tail -1 | sed 's/.*SKIP[:( -]*//; s/)$//')
			echo "$what: SKIP (${r:=exit 4, see above})"
		fi
		summary_add "$what: SKIP ($r)"
		rc=0 ;;
	*)
		summary_add "$what: FAILED (exit $rc)${totals:+ ($totals)}"
		[ -n "$tally" ] && summary_add "$tally" ;;
	esac
	exit "$rc" ;;
--what)
	what=${2:?}
	shift 2 ;;
*)
	what=need ;;
esac

[ $# -gt 0 ] || { sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
for r in "$@"; do
	check "$r" || { skip "$what" "$reason" "$fix"; exit 4; }
done
exit 0
