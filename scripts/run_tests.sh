#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run an installed kvm-msr-suite through the kernel's kselftest runner
# (run_kselftest.sh), pass its TAP 13 through to stdout, then summarise.
#
#   run_tests.sh [--baseline DIR | --known DIR] INSTALL_DIR [run_kselftest.sh options]
#
# Results are counted per subtest (the kselftest harness's own "ok"/"not ok"
# lines inside each binary's output); a binary that fails without a failing
# subtest (crash, timeout, SKIP of the whole binary) counts as itself.
#
# With --baseline, failures listed in DIR/<backend>.txt or
# DIR/<backend>-<major.minor>.txt (known divergences of this KVM backend,
# one per line: "binary:subtest | reason | evidence") are XFAIL; a listed
# divergence that no longer happens is reported loudly as XPASS.  The backend
# is the vendor module behind /dev/kvm (scripts/backend.sh).  With --known,
# the same entries only annotate failures ("known divergence: ..."); they
# still fail (what `make run_tests` does: it reports what KVM does).
#
# Exit status: 0 when nothing failed (SKIP and XFAIL are fine), 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
baseline_dir=
mode=xfail
case "${1:-}" in
--baseline) baseline_dir=$2; shift 2 ;;
--known) baseline_dir=$2; mode=annotate; shift 2 ;;
esac
install_dir=${1:?usage: run_tests.sh [--baseline DIR | --known DIR] INSTALL_DIR [runner options]}
shift
[ -x "$install_dir/run_kselftest.sh" ] || {
	echo "run_tests.sh: no run_kselftest.sh in '$install_dir' (run make install first)" >&2
	exit 2
}

backend=$("$here/backend.sh")
kver=$(uname -r)
kmm=$(echo "$kver" | cut -d. -f1-2)
library=$(cat "$here/library" 2>/dev/null || echo unknown)

baselines=
if [ -n "$baseline_dir" ]; then
	for f in "$baseline_dir/$backend.txt" "$baseline_dir/$backend-$kmm.txt"; do
		[ -r "$f" ] && baselines="$baselines $f"
	done
fi

log=$(mktemp "${TMPDIR:-/tmp}/kvm-msr-suite.XXXXXX")
trap 'rm -f "$log"' EXIT

# The runner exits 0 whatever happened; its TAP is what counts.
"$install_dir/run_kselftest.sh" "$@" | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "run_tests.sh: run_kselftest.sh failed" >&2; exit 1; }

# Baseline entries: "name | reason | evidence", '#' comments.
cat $baselines /dev/null | sed 's/#.*//' | awk -F'|' 'NF && $1 ~ /[^ \t]/ {
	gsub(/^[ \t]+|[ \t]+$/, "", $1); gsub(/^[ \t]+|[ \t]+$/, "", $2); print $1 "\t" $2 }' > "$log.base"
trap 'rm -f "$log" "$log.base"' EXIT

# TAP 13 must come first; what ran where is said with the summary.
echo "# kvm-msr-suite: backend $backend (from /sys/module), kernel $kver, library $library"
[ -n "$baseline_dir" ] &&
	echo "# kvm-msr-suite: baseline of known divergences:${baselines:- none for $backend}$([ $mode = annotate ] && echo ' (annotating only; make check turns them into XFAIL)')"

awk -v basefile="$log.base" -v mode="$mode" -v install="$(cd "$install_dir" && pwd)" '
function result(name, status, detail) {
	if (mode == "annotate") {
		if (status == "fail" && (name in xfail_reason)) {
			detail = detail " (known divergence: " xfail_reason[name] ")"
			nknown++
		}
	} else if (status == "fail" && (name in xfail_reason)) {
		status = "xfail"; seen_xfail[name] = 1
		detail = xfail_reason[name]
	}
	if (mode != "annotate" && status == "pass" && (name in xfail_reason)) {
		status = "xpass"; xpass[name] = 1
	}
	n[status]++
	if (status == "fail") failed[++nfailed] = name detail
	if (status == "xfail") xfailed[++nxfailed] = name " (" detail ")"
}
function end_binary() {
	if (bin == "") return
	# A binary that failed without a failing subtest crashed or timed out.
	if (bin_status == "fail" && bin_subfails == 0)
		result(bin, "fail", " [" bin_detail "]")
	else if (bin_subtests == 0 && bin_status != "")
		result(bin, bin_status, "")
	bin = ""
}
BEGIN {
	while ((getline line < basefile) > 0) {
		split(line, f, "\t"); xfail_reason[f[1]] = f[2]
	}
}
/^# selftests: [^ ]+: / {
	end_binary(); bin = $4; bin_status = ""; bin_subtests = 0; bin_subfails = 0
	coll[bin] = $3; sub(/:$/, "", coll[bin])
	next
}
/^(not )?ok [0-9]+ selftests: / {
	bin_status = ($1 == "ok") ? (/# SKIP/ ? "skip" : "pass") : "fail"
	bin_detail = $0; sub(/^.* # /, "", bin_detail)
	end_binary(); next
}
bin != "" && /^# (not )?ok [0-9]+ / {
	name = ($2 == "not") ? $5 : $4
	st = ($2 == "not") ? "fail" : (/# SKIP/ ? "skip" : "pass")
	bin_subtests++; if (st == "fail") bin_subfails++
	result(bin ":" name, st, ""); next
}
END {
	end_binary()
	printf "# ---- kvm-msr-suite summary ----\n"
	for (i = 1; i <= nfailed; i++) {
		printf "# FAIL  %s\n", failed[i]
		split(failed[i], part, /[: ]/)
		printf "#       rerun: %s/%s/%s%s\n", install, coll[part[1]], part[1],
			(failed[i] ~ /^[^ ]*:/) ? " -r " part[2] : ""
	}
	for (i = 1; i <= nxfailed; i++) printf "# XFAIL %s\n", xfailed[i]
	for (name in xpass) {
		printf "# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
		printf "# XPASS %s: listed as a known divergence but PASSED.\n", name
		printf "#       The backend may have been fixed: remove it from the baseline.\n"
		printf "# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
	}
	if (nknown)
		printf "# %d of these failures are known divergences of this backend (listed in the baseline: make check reports them as XFAIL)\n", nknown
	printf "# Totals: pass:%d fail:%d xfail:%d xpass:%d skip:%d\n", n["pass"], n["fail"], n["xfail"], n["xpass"], n["skip"]
	printf "Totals: %d passed, %d failed, %d skipped\n", n["pass"] + n["xpass"], n["fail"], n["skip"] + n["xfail"]
	exit nfailed ? 1 : 0
}' "$log"
