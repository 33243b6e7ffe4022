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
# Known divergences: DIR/<backend>.txt (the backend is the vendor module
# behind /dev/kvm, scripts/backend.sh) lists divergence signatures with
# conditions (lib/msr_divergence.h).  The binaries match every failing check
# against it themselves (MSR_BASELINE=DIR is exported to them) and end each
# subtest with DIVERGENCE-TALLY/-KNOWN/-NEW lines.  With --baseline a failed
# subtest is XFAIL only if it has a tally and every failing check of it is
# covered by an entry; otherwise it fails and the summary lists its
# uncovered signatures.  Per entry the summary says how many covered checks
# failed (XFAIL), or that they all passed (XPASS: the backend may have been
# fixed), or that none ran here (not exercised).  With --known the same
# entries only annotate failures ("known divergence"); they still fail
# (what `make run_tests` does: it reports what KVM does).
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
	[ -r "$baseline_dir/$backend.txt" ] && baselines="$baseline_dir/$backend.txt"
	MSR_BASELINE=$(cd "$baseline_dir" && pwd)
else
	MSR_BASELINE=
fi
export MSR_BASELINE

log=$(mktemp "${TMPDIR:-/tmp}/kvm-msr-suite.XXXXXX")
trap 'rm -f "$log"' EXIT

# The runner exits 0 whatever happened; its TAP is what counts.
"$install_dir/run_kselftest.sh" "$@" | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "run_tests.sh: run_kselftest.sh failed" >&2; exit 1; }

# Baseline entries: "<pattern> [conditions] | reason | evidence", '#' comments;
# "<file>:<line>\t<pattern>\t<reason>", as the binaries name them.
for f in $baselines; do
	awk -v file="$(basename "$f")" '{ line = $0; sub(/#.*/, "", line) }
	line ~ /[^ \t]/ && index(line, "|") {
		split(line, fld, "|"); head = fld[1]; reason = fld[2]
		gsub(/^[ \t]+|[ \t]+$/, "", head); gsub(/^[ \t]+|[ \t]+$/, "", reason)
		print file ":" NR "\t" head "\t" reason }' "$f"
done > "$log.base"
trap 'rm -f "$log" "$log.base"' EXIT

# TAP 13 must come first; what ran where is said with the summary.
echo "# kvm-msr-suite: backend $backend (from /sys/module), kernel $kver, library $library"
[ -n "$baseline_dir" ] &&
	echo "# kvm-msr-suite: baseline of known divergences: ${baselines:-none for $backend}$([ $mode = annotate ] && echo ' (annotating only; make check turns them into XFAIL)')"

awk -v basefile="$log.base" -v mode="$mode" -v install="$(cd "$install_dir" && pwd)" '
# A failed subtest whose failing checks are all covered by baseline entries.
function known(name) {
	return (name in tally_fail) && tally_fail[name] > 0 && tally_unmatched[name] == 0
}
function result(name, status, detail) {
	if (status == "fail" && known(name)) {
		if (mode == "annotate") {
			detail = detail " (known divergence: " known_in[name] ")"
			nknown++
		} else {
			status = "xfail"
		}
	}
	n[status]++
	if (status == "fail") failed[++nfailed] = name detail
	if (status == "xfail") xfailed[++nxfailed] = name
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
function kv(s, key,   i, p) {
	p = key "="; i = index(s, p)
	return i ? substr(s, i + length(p)) + 0 : 0
}
BEGIN {
	while ((getline line < basefile) > 0) {
		split(line, f, "\t"); nent++
		ent_where[nent] = f[1]; ent_head[nent] = f[2]; ent_reason[nent] = f[3]
		ent_of[f[1]] = nent
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
bin != "" && /^# # DIVERGENCE-TALLY / {
	key = bin ":" $4; tally_fail[key] = kv($0, "failures"); tally_unmatched[key] = kv($0, "unmatched")
	next
}
bin != "" && /^# # DIVERGENCE-KNOWN / {
	w = $5; checked[w] += kv($0, "checked"); kfailed[w] += kv($0, "failed")
	if (kv($0, "failed")) {
		subtests_of[w] = subtests_of[w] " " bin ":" $4
		known_in[bin ":" $4] = known_in[bin ":" $4] (known_in[bin ":" $4] == "" ? "" : ", ") \
			((w in ent_of) ? ent_head[ent_of[w]] : w)
	}
	next
}
bin != "" && /^# # DIVERGENCE-NEW / {
	newsig[bin ":" $4] = newsig[bin ":" $4] "\n#         " $5 " (" $6 ", " substr($7, 7) " checks)"
	next
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
		key = part[1] ":" part[2]
		if (key in newsig)
			printf "#       failing checks no baseline entry covers (signature, guest CPUID, count):%s\n", newsig[key]
		printf "#       rerun: %s/%s/%s%s\n", install, coll[part[1]], part[1],
			(failed[i] ~ /^[^ ]*:/) ? " -r " part[2] : ""
	}
	for (i = 1; i <= nxfailed; i++)
		printf "# XFAIL %s (every failing check is a known divergence: %s)\n", xfailed[i], known_in[xfailed[i]]
	for (e = 1; e <= nent; e++) {
		w = ent_where[e]
		if (kfailed[w]) {
			printf "# KNOWN %s (%s): %d of %d covered checks failed, in%s: %s\n", ent_head[e], w,
				kfailed[w], checked[w], subtests_of[w], ent_reason[e]
			nsig++
		} else if (checked[w]) {
			printf "# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
			printf "# XPASS %s (%s): listed as a known divergence, but all %d covered checks PASSED.\n", ent_head[e], w, checked[w]
			printf "#       The backend may have been fixed: remove the entry (or narrow its conditions).\n"
			printf "# !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
			n["xpass"]++
		} else {
			printf "# not exercised: %s (%s): no check it covers ran here\n", ent_head[e], w
		}
	}
	if (nsig)
		printf "# %d known divergence signature(s) of this backend failed as listed\n", nsig
	if (nknown)
		printf "# %d of these failures are known divergences of this backend (listed in the baseline: make check reports them as XFAIL)\n", nknown
	printf "# Totals: pass:%d fail:%d xfail:%d xpass:%d skip:%d\n", n["pass"], n["fail"], n["xfail"], n["xpass"], n["skip"]
	printf "Totals: %d passed, %d failed, %d skipped\n", n["pass"], n["fail"], n["skip"] + n["xfail"]
	exit nfailed ? 1 : 0
}' "$log"
