#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run kvm-msr-suite on this machine and inside other kernels, and render one
# table of the results: rows = test binaries and their subtests, columns =
# kernel/backend, cells = pass / FAIL / skip / xfail / XPASS.
#
#   scripts/matrix.sh [--out DIR] [--render-only] [--timeout SECS] [KERNEL...]
#
#   KERNEL       host (this machine's /dev/kvm), or anything vmtest.sh's
#                --kernel takes: debian:6.1, debian:6.12, a linux-image .deb,
#                a bzImage (bzImage:MODULES_DIR to give its modules), booted
#                under QEMU (kvm_amd); bochs:KERNEL boots it under Bochs
#                (vmtest.sh --emulator bochs: kvm_intel, 5-10 minutes).
#                Default: host debian:6.1 debian:6.12 bochs:debian:6.12
#   --out DIR    where logs and the table go (default build/matrix)
#   --render-only  do not run anything: render the logs already in DIR
#                (DIR/*.tap, in the order of DIR/columns)
#   --timeout S  passed to vmtest.sh for each kernel
#
# Every column runs with the per-backend baseline (tests/baseline), as make
# check does: a known divergence of that backend is xfail.  Writes
# DIR/<column>.tap (the suite's TAP and summary), DIR/<column>.err (build and
# VM messages), DIR/matrix.md and DIR/matrix.html, and prints the Markdown.
# Failures link to their diagnostic lines.  VM columns run one at a time.
#
# A column this machine cannot run is skipped with the reason (the host
# column without /dev/kvm or permission on it, a VM column without QEMU:
# vmtest.sh exits 4), listed under the table; scripts/need.sh has the rule.
#
# Exit status: 0 when every column ran or was skipped and nothing failed,
# 4 (SKIP) when every column was skipped, 1 otherwise.
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)
out=$SUITE/build/matrix
render_only=0
vm_opts=()
kernels=()

while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--render-only) render_only=1; shift ;;
	--timeout) vm_opts+=(--timeout "${2:?}"); shift 2 ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "matrix.sh: unknown option '$1'" >&2; exit 2 ;;
	*) kernels+=("$1"); shift ;;
	esac
done
[ ${#kernels[@]} -gt 0 ] || kernels=(host debian:6.1 debian:6.12 bochs:debian:6.12)
mkdir -p "$out"
out=$(cd "$out" && pwd)

colid() {
	case "$1" in
	host) echo host ;;
	bochs:*) echo "bochs-$(colid "${1#bochs:}")" ;;
	*) basename "${1%%:/*}" | sed 's/^debian:/debian-/; s/\.deb$//; s/[^A-Za-z0-9._+-]/_/g' ;;
	esac
}

# "WHAT: SKIP (reason; fix)" (scripts/need.sh) -> reason
skip_reason() { sed -n 's/^.*: SKIP (\(.*\))$/\1/p' | tail -1 | sed 's/; .*//'; }

overall=0
if [ "$render_only" = 0 ]; then
	: > "$out/columns"
	: > "$out/skipped"
	for k in "${kernels[@]}"; do
		id=$(colid "$k")
		tap=$out/$id.tap err=$out/$id.err
		start=$(date +%s)
		if [ "$k" = host ]; then
			if ! msg=$("$SUITE/scripts/need.sh" --what "matrix: host" kvm); then
				echo "$msg" >&2
				printf '%s\t%s\n' "$id" "$(echo "$msg" | skip_reason)" >> "$out/skipped"
				continue
			fi
			echo "$id" >> "$out/columns"
			echo "matrix: host $(uname -r)" >&2
			inst=$out/host-install
			if make -s -C "$SUITE" install INSTALL_PATH="$inst" > "$err" 2>&1; then
				"$inst/kvm-msr-suite/run_tests.sh" --baseline "$SUITE/tests/baseline" "$inst" \
					> "$tap" 2>> "$err"
				rc=$?
			else
				rc=2; : > "$tap"
			fi
			echo "# matrix: column host: $(uname -r), exit $rc" >> "$tap"
		else
			echo "matrix: $k (vmtest.sh)" >&2
			kk=${k#bochs:}
			kopt=(--kernel "$kk")
			case "$kk" in
			debian:*|*.deb) ;;
			*:*) kopt=(--kernel "${kk%%:*}" --modules "${kk#*:}") ;;
			esac
			[ "$kk" = "$k" ] || kopt+=(--emulator bochs)
			"$SUITE/scripts/vmtest.sh" "${kopt[@]}" "${vm_opts[@]}" --baseline > "$tap" 2> "$err"
			rc=$?
			if [ "$rc" = 4 ]; then
				grep -h ': SKIP (' "$tap" "$err" | tail -1 >&2
				printf '%s\t%s\n' "$id" "$(cat "$tap" "$err" | skip_reason)" >> "$out/skipped"
				continue
			fi
			echo "$id" >> "$out/columns"
			echo "# matrix: column $k: exit $rc" >> "$tap"
		fi
		echo "matrix: $id: exit $rc after $(( $(date +%s) - start ))s ($tap)" >&2
		[ "$rc" = 0 ] || { overall=1; grep 'error:' "$err" | tail -3 | sed 's/^/matrix:   /' >&2; }
	done
fi

skips=$(awk -F'\t' '{ printf "%s%s: %s", (NR > 1 ? "; " : ""), $1, $2 }' "$out/skipped" 2>/dev/null)
if [ ! -s "$out/columns" ] && [ -n "$skips" ]; then
	"$SUITE/scripts/need.sh" --skip matrix "every column skipped: $skips"
	exit 4
fi
[ -s "$out/columns" ] || { echo "matrix.sh: nothing to render in $out (no columns file)" >&2; exit 2; }
files=()
while read -r id; do
	[ -e "$out/$id.tap" ] && files+=("$out/$id.tap")
done < "$out/columns"
[ ${#files[@]} -gt 0 ] || { echo "matrix.sh: no logs in $out" >&2; exit 2; }

LC_ALL=C awk -v md="$out/matrix.md" -v html="$out/matrix.html" -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v skips="$skips" '
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s); return s }
function mdesc(s) { gsub(/\|/, "\\|", s); return s }
function addrow(r) { if (!(r in rowseen)) { rowseen[r] = 1; rows[++nrows] = r } }
function set(r, st, diag0, diag1, note) {
	addrow(r); cell[c, r] = st; d0[c, r] = diag0; d1[c, r] = diag1; why[c, r] = note
}
# A binary gets a row of its own when it has no subtests, or when it failed
# without a failing subtest (crash, timeout, no result line at all).
function end_binary(endl) {
	if (bin == "") return
	if (bst == "") set(bin, "fail", bstart, endl, "no result line: the runner stopped")
	else if (nsub == 0 || (bst == "fail" && nsubfail == 0)) set(bin, bst, bstart, endl, bnote)
	bin = ""
}
FNR == 1 {
	if (c) end_binary(nlines[c])
	c++; id = FILENAME; sub(/.*\//, "", id); sub(/\.tap$/, "", id); colid[c] = id
	backend[c] = "?"; kernel[c] = ""; exitc[c] = ""; bin = ""; run0 = 0
}
{ line[c, FNR] = $0; nlines[c] = FNR }
/^# kvm-msr-suite: backend / {
	backend[c] = $4; kernel[c] = $8; sub(/,$/, "", kernel[c]); library[c] = $10
}
/^# matrix: column / { exitc[c] = $NF }
/^# selftests: [^ ]+: / { end_binary(FNR - 1); bin = $4; bstart = FNR; bst = ""; nsub = 0; nsubfail = 0; next }
/^(not )?ok [0-9]+ selftests: / {
	bst = ($1 == "ok") ? (/# SKIP/ ? "skip" : "pass") : "fail"
	bnote = ""; if (/ # /) { bnote = $0; sub(/^.* # /, "", bnote) }
	if (bst == "fail" && nsubfail == 0 && bnote == "") bnote = "binary failed"
	end_binary(FNR); next
}
bin != "" && /^# # +RUN +/ { run0 = FNR; next }
bin != "" && /^# (not )?ok [0-9]+ / {
	name = ($2 == "not") ? $5 : $4
	st = ($2 == "not") ? "fail" : (/# SKIP/ ? "skip" : "pass")
	note = ""; if (/ # SKIP/) { note = $0; sub(/^.* # SKIP */, "", note) }
	nsub++; if (st == "fail") nsubfail++
	set(bin ":" name, st, run0 ? run0 : FNR, FNR, note); run0 = 0; next
}
/^# XFAIL / {
	r = $3; note = $0; sub(/^# XFAIL [^ ]+ \(/, "", note); sub(/\)$/, "", note)
	if ((c, r) in cell) { cell[c, r] = "xfail"; why[c, r] = note }
}
/^# XPASS / { r = $3; sub(/:$/, "", r); if ((c, r) in cell) cell[c, r] = "xpass" }
END {
	end_binary(nlines[c]); ncol = c
	for (c = 1; c <= ncol; c++) {
		if (colid[c] == "host") head[c] = "host " kernel[c]
		else head[c] = kernel[c] != "" ? kernel[c] : colid[c]
		sub2[c] = backend[c] (colid[c] == "host" ? "" : colid[c] ~ /^bochs-/ ? " (Bochs)" : " (QEMU)")
		if (exitc[c] == "2" || nlines[c] == 0 || kernel[c] == "") {
			broken[c] = 1; sub2[c] = "run failed (exit " exitc[c] ")"
		}
	}
	# Rows in order of first appearance; a group row per binary.
	for (i = 1; i <= nrows; i++) {
		r = rows[i]; b = r; sub(/:.*/, "", b)
		if (!(b in grp)) { grp[b] = ++ngroups; gname[ngroups] = b }
		if (r != b) { members[b] = members[b] " " r }
		else whole[b] = 1
	}
	nfail = 0; nxf = 0
	for (c = 1; c <= ncol; c++) for (i = 1; i <= nrows; i++)
		if (((c, rows[i]) in cell) && cell[c, rows[i]] == "xfail") { xcol[++nxf] = c; xrow[nxf] = rows[i] }
	for (c = 1; c <= ncol; c++) for (i = 1; i <= nrows; i++) {
		r = rows[i]
		if (((c, r) in cell) && (cell[c, r] == "fail" || cell[c, r] == "xpass")) {
			fid[c, r] = ++nfail; fcol[nfail] = c; frow[nfail] = r
		}
	}
	# ---------------- Markdown
	printf "# kvm-msr-suite results\n\n" > md
	printf "%s. Cells: pass, **FAIL** (new failure), skip, xfail (known divergence of that backend, in tests/baseline), **XPASS** (listed divergence passed), - (not run). Failures are numbered; their diagnostic lines follow the table.\n\n", when > md
	printf "| test |" > md; for (c = 1; c <= ncol; c++) printf " %s<br>%s |", mdesc(head[c]), mdesc(sub2[c]) > md
	printf "\n|---|" > md; for (c = 1; c <= ncol; c++) printf "---|" > md; printf "\n" > md
	for (g = 1; g <= ngroups; g++) {
		b = gname[g]
		printf "| **%s** |", b > md
		for (c = 1; c <= ncol; c++) printf " %s |", mdcell(c, b, 1) > md
		printf "\n" > md
		n = split(members[b], m, " ")
		for (j = 1; j <= n; j++) {
			r = m[j]; s = r; sub(/^[^:]*:/, "", s)
			printf "| &nbsp;&nbsp;%s%s |", mdesc(s), (differs(r) ? " ≠" : "") > md
			for (c = 1; c <= ncol; c++) printf " %s |", mdcell(c, r, 0) > md
			printf "\n" > md
		}
	}
	printf "| total |" > md; for (c = 1; c <= ncol; c++) printf " %s |", totals(c) > md
	printf "\n\n≠: the result differs between columns.\n" > md
	if (nxf) printf "\n## Known divergences (xfail)\n\n" > md
	for (k = 1; k <= nxf; k++)
		printf "- `%s` — %s (%s): %s\n", xrow[k], head[xcol[k]], backend[xcol[k]], why[xcol[k], xrow[k]] > md
	for (c = 1; c <= ncol; c++) if (broken[c])
		printf "\n**%s**: the run did not complete (exit %s); see %s.err.\n", colid[c], exitc[c], colid[c] > md
	if (skips != "") printf "\nSkipped columns (this machine cannot run them): %s.\n", skips > md
	if (nfail) printf "\n## Failures\n" > md
	for (k = 1; k <= nfail; k++) {
		c = fcol[k]; r = frow[k]
		printf "\n### [%d] %s — %s (%s)\n\n%s.tap, lines %d–%d:\n\n```\n", k, r, head[c], backend[c], colid[c], d0[c, r], d1[c, r] > md
		excerpt(c, r, 0)
		printf "```\n" > md
	}
	# ---------------- HTML
	print "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>kvm-msr-suite results</title><style>" > html
	print "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}table.m{border-collapse:collapse}" > html
	print ".m th,.m td{border:1px solid #ccc;padding:3px 10px;text-align:center}.m th{background:#f3f3f3;vertical-align:bottom}" > html
	print ".m td.t{text-align:left;font-family:ui-monospace,monospace;font-size:13px}.m tr.g td{font-weight:600}.m tr.g td.t{background:#eef2f7}.m tr.tot td{border-top:2px solid #999;font-weight:600}" > html
	print ".m tr.g td.t{font-family:ui-monospace,monospace}.m .sub{font-weight:400;color:#666;font-size:12px}" > html
	print ".pass{background:#d9f2d9;color:#174d17}.fail{background:#f8c9c9;color:#7a0c0c;font-weight:700}.skip{background:#ececec;color:#555}" > html
	print ".xfail{background:#fde9b8;color:#6b4b00}.xpass{background:#f4c3f4;color:#5c0a5c;font-weight:700}.none{color:#aaa}.err{background:#f8c9c9}" > html
	print "td a{color:inherit}tr.d td.t::after{content:\" \\2260\";color:#b00;font-weight:700}" > html
	print "pre{background:#f7f7f7;border:1px solid #ddd;padding:6px;overflow-x:auto;font-size:12px}" > html
	print ".log span{display:block}.log span:target{background:#fff3a0}.legend span{padding:1px 8px;margin-right:6px;border-radius:3px}" > html
	print "details{margin:.4em 0}summary{cursor:pointer}a.omit{color:#06c}</style></head><body>" > html
	printf "<h1>kvm-msr-suite results</h1><p>%s. Each column is one kernel with its KVM backend; host is this machine&#39;s /dev/kvm, the others run under QEMU or Bochs (scripts/vmtest.sh). Known divergences come from tests/baseline.</p>\n", esc(when) > html
	print "<p class=\"legend\"><span class=\"pass\">pass</span><span class=\"fail\">FAIL</span><span class=\"skip\">skip</span><span class=\"xfail\">xfail (known divergence)</span><span class=\"xpass\">XPASS (listed, passed)</span><span class=\"none\">&ndash; not run</span> &#8800; results differ between columns</p>" > html
	printf "<table class=\"m\"><tr><th style=\"text-align:left\">test</th>" > html
	for (c = 1; c <= ncol; c++) printf "<th>%s<br><span class=\"sub\">%s%s</span></th>", esc(head[c]), esc(sub2[c]), (library[c] != "" ? "<br>library " esc(library[c]) : "") > html
	print "</tr>" > html
	for (g = 1; g <= ngroups; g++) {
		b = gname[g]
		printf "<tr class=\"g%s\"><td class=\"t\">%s</td>", ((whole[b] && differs(b)) ? " d" : ""), esc(b) > html
		for (c = 1; c <= ncol; c++) printf "%s", htcell(c, b, 1) > html
		print "</tr>" > html
		n = split(members[b], m, " ")
		for (j = 1; j <= n; j++) {
			r = m[j]; s = r; sub(/^[^:]*:/, "", s)
			printf "<tr%s><td class=\"t\">&nbsp;&nbsp;%s</td>", (differs(r) ? " class=\"d\"" : ""), esc(s) > html
			for (c = 1; c <= ncol; c++) printf "%s", htcell(c, r, 0) > html
			print "</tr>" > html
		}
	}
	printf "<tr class=\"tot\"><td class=\"t\">total</td>" > html
	for (c = 1; c <= ncol; c++) printf "<td>%s</td>", esc(totals(c)) > html
	print "</tr></table>" > html
	if (nxf) print "<h2>Known divergences (xfail)</h2><ul>" > html
	for (k = 1; k <= nxf; k++)
		printf "<li><code>%s</code> &mdash; %s (%s): %s</li>\n", esc(xrow[k]), esc(head[xcol[k]]), esc(backend[xcol[k]]), esc(why[xcol[k], xrow[k]]) > html
	if (nxf) print "</ul>" > html
	for (c = 1; c <= ncol; c++) if (broken[c])
		printf "<p class=\"fail\">%s: the run did not complete (exit %s); see %s.err.</p>\n", esc(colid[c]), esc(exitc[c]), esc(colid[c]) > html
	if (skips != "") printf "<p class=\"skip\">Skipped columns (this machine cannot run them): %s.</p>\n", esc(skips) > html
	if (nfail) print "<h2>Failures</h2>" > html
	for (k = 1; k <= nfail; k++) {
		c = fcol[k]; r = frow[k]
		printf "<h3 id=\"f%d\">[%d] %s &mdash; %s (%s)</h3>", k, k, esc(r), esc(head[c]), esc(backend[c]) > html
		printf "<p><a href=\"#%s-L%d\">%s.tap line %d</a></p><pre>", colid[c], d0[c, r], esc(colid[c]), d0[c, r] > html
		excerpt(c, r, 1)
		print "</pre>" > html
	}
	print "<h2>Logs</h2>" > html
	for (c = 1; c <= ncol; c++) {
		printf "<details id=\"log-%s\"><summary>%s.tap &mdash; %s (%s), %d lines</summary><pre class=\"log\">", colid[c], esc(colid[c]), esc(head[c]), esc(backend[c]), nlines[c] > html
		for (l = 1; l <= nlines[c]; l++) printf "<span id=\"%s-L%d\">%s</span>", colid[c], l, esc(line[c, l]) > html
		print "</pre></details>" > html
	}
	print "<script>function openlog(){var h=location.hash.slice(1),e=h&&document.getElementById(h);if(e){var d=e.closest(\"details\");if(d)d.open=true;e.scrollIntoView()}}window.addEventListener(\"hashchange\",openlog);openlog()</script>" > html
	print "</body></html>" > html
	exit (nfail > 0)
}
# A failure'"'"'s diagnostic lines; long ones keep their head (the first
# mismatches) and tail (summary, assertion), the rest is in the log.
function excerpt(c, r, ishtml,   a, z, l, out) {
	a = d0[c, r]; z = d1[c, r]; out = ishtml ? html : md
	for (l = a; l <= z; l++) {
		if (z - a > 45 && l == a + 15) {
			if (ishtml) printf "<a class=\"omit\" href=\"#%s-L%d\">[... %d lines: %s.tap lines %d&ndash;%d ...]</a>\n", colid[c], l, z - a - 39, colid[c], l, z - 25 > out
			else printf "[... %d lines: %s.tap lines %d-%d ...]\n", z - a - 39, colid[c], l, z - 25 > out
			l = z - 25; continue
		}
		print (ishtml ? esc(line[c, l]) : line[c, l]) > out
	}
}
function differs(r,   c, v, first, any) {
	first = ""
	for (c = 1; c <= ncol; c++) {
		if (broken[c]) continue
		v = ((c, r) in cell) ? cell[c, r] : "-"
		if (first == "") first = v
		else if (v != first) return 1
	}
	return 0
}
function gsummary(c, b,   n, i, m, k, st, cnt, s) {
	# A binary row: its own result if it has no subtests, else counts.
	if (broken[c]) return "error"
	if (!((c, b) in cell) && members[b] == "") return "-"
	n = split(members[b], m, " ")
	for (i = 1; i <= n; i++) if ((c, m[i]) in cell) cnt[cell[c, m[i]]]++
	s = ""
	split("pass fail xfail xpass skip", k, " ")
	for (i = 1; i <= 5; i++) if (cnt[k[i]]) s = s (s == "" ? "" : " ") cnt[k[i]] " " k[i]
	# The binary itself failed (crash, timeout) besides its subtests.
	if ((c, b) in cell) s = toupper(cell[c, b]) (why[c, b] != "" ? " (" why[c, b] ")" : "") (s == "" ? "" : "; ") s
	return s == "" ? "-" : s
}
function totals(c,   i, cnt, k, s) {
	if (broken[c]) return "error"
	for (i = 1; i <= nrows; i++) if ((c, rows[i]) in cell) cnt[cell[c, rows[i]]]++
	split("pass fail xfail xpass skip", k, " "); s = ""
	for (i = 1; i <= 5; i++) if (cnt[k[i]]) s = s (s == "" ? "" : ", ") cnt[k[i]] " " k[i]
	return s == "" ? "-" : s
}
function worst(c, b,   n, i, m, has) {
	n = split(members[b], m, " ")
	for (i = 1; i <= n; i++) if ((c, m[i]) in cell) has[cell[c, m[i]]] = 1
	if ((c, b) in cell) has[cell[c, b]] = 1
	if ("fail" in has) return "fail"; if ("xpass" in has) return "xpass"
	if ("xfail" in has) return "xfail"; if ("pass" in has) return "pass"
	if ("skip" in has) return "skip"; return "none"
}
function mdcell(c, r, isgroup,   st) {
	if (broken[c]) return "error"
	if (isgroup && members[r] != "") {
		st = gsummary(c, r)
		if ((c, r) in cell && (cell[c, r] == "fail" || cell[c, r] == "xpass"))
			st = st " [" fid[c, r] "]"
		return st
	}
	if (!((c, r) in cell)) return "-"
	st = cell[c, r]
	if (st == "fail") return "**FAIL** [" fid[c, r] "]" (why[c, r] != "" ? " " mdesc(why[c, r]) : "")
	if (st == "xpass") return "**XPASS** [" fid[c, r] "]"
	return st
}
function htcell(c, r, isgroup,   st, cls, txt, tip) {
	if (broken[c]) return "<td class=\"err\">error</td>"
	if (isgroup && members[r] != "") {
		cls = worst(c, r); txt = esc(gsummary(c, r))
		if ((c, r) in cell && (cell[c, r] == "fail" || cell[c, r] == "xpass"))
			txt = "<a href=\"#f" fid[c, r] "\">" txt " [" fid[c, r] "]</a>"
		return "<td class=\"" cls "\">" txt "</td>"
	}
	if (!((c, r) in cell)) return "<td class=\"none\">&ndash;</td>"
	st = cell[c, r]; tip = why[c, r] != "" ? " title=\"" esc(why[c, r]) "\"" : ""
	if (st == "fail") return "<td class=\"fail\"" tip "><a href=\"#f" fid[c, r] "\">FAIL [" fid[c, r] "]</a>" (isgroup && why[c, r] != "" ? " " esc(why[c, r]) : "") "</td>"
	if (st == "xpass") return "<td class=\"xpass\"" tip "><a href=\"#f" fid[c, r] "\">XPASS [" fid[c, r] "]</a></td>"
	if (st == "xfail") return "<td class=\"xfail\"" tip "><a href=\"#" colid[c] "-L" d1[c, r] "\">xfail</a></td>"
	return "<td class=\"" st "\"" tip ">" st "</td>"
}
' "${files[@]}"
rrc=$?
cat "$out/matrix.md"
echo "matrix: $out/matrix.md, $out/matrix.html" >&2
[ "$rrc" -le 1 ] || { echo "matrix.sh: rendering failed" >&2; exit 2; }
[ "$overall" = 0 ] && [ "$rrc" = 0 ]
