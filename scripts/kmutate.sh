#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel-mutation campaign: how many small breakages of KVM's MSR code does
# the suite notice, compared with upstream's own MSR selftests?
#
#   scripts/kmutate.sh [options] DIR_OF_PATCHES
#
# For each DIR/*.patch (in name order): apply it to the cached copy of
# Debian's linux-source tree, build KVM's modules (scripts/kvm-modules.sh),
# revert, boot the stock kernel with them (scripts/vmtest.sh --kvm-tree,
# under QEMU TCG: kvm_amd), and run, one binary at a time
# (scripts/kmutate-guest.sh): the suite against the baseline, then
# upstream's MSR selftests built from the same tree
# (userspace_msr_exit_test, get_msr_index_features, hwcr_msr_test,
# platform_info_test, tsc_msrs_test, kvm_pv_test, xss_msr_test,
# vmx_msrs_test).  Each run is compared with one run of the unpatched tree:
#   ours      killed if a failing-case signature appears that the reference
#             run did not have: a DIVERGENCE-NEW signature of a subtest, a
#             failing subtest or binary, a known (baseline) divergence in a
#             subtest where the reference had none; or a kernel health
#             change after one of our binaries (taint other than the boot
#             taint, a new WARNING/BUG)
#   upstream  killed if one of its tests' exit status differs from the
#             reference's, or its health changes
#   both      killed if the VM crashes (panic, no result) or times out
# A patch that does not apply or does not build is a row of its own.
#
#   --series S     6.12 (default) or 6.1: which Debian tree the patches are for
#   --out DIR      where the table and the logs go (default build/kmutate/run)
#   --timeout S    bound on each VM run (default: 3 x the reference run's wall
#                  time + 60 s, at least 180 s)
#   --only GLOB    only the patches whose file name matches GLOB
#   --emulator E   qemu (default: kvm_amd under TCG) or bochs (kvm_intel under
#                  Bochs, scripts/vmtest.sh --emulator bochs: the VMX mutants)
#
# Output: DIR/kmutate.md (also printed), DIR/kmutate.html, per mutant
# DIR/<patch>/{build.log,vm.out,vm.err,signatures}.  The cached tree is
# restored after every patch (and checked at the end).
#
# Exit status: 0 the campaign ran (whatever the mutants did); 2 it could not
# run (bad arguments, no patches, the reference build or run failed).
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)
KB=${KVM_MODULES_DIR:-$SUITE/build/kvm}
UPSTREAM_TESTS="userspace_msr_exit_test get_msr_index_features hwcr_msr_test platform_info_test
	tsc_msrs_test kvm_pv_test xss_msr_test vmx_msrs_test"

say() { echo "kmutate: $*" >&2; }
die() { echo "kmutate: error: $*" >&2; exit 2; }
usage() { sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

series=6.12 out= timeout_s= only='*' pdir= emulator=qemu
while [ $# -gt 0 ]; do
	case "$1" in
	--series) series=${2:?--series needs 6.12 or 6.1}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--only) only=${2:?--only needs a pattern}; shift 2 ;;
	--emulator) emulator=${2:?--emulator needs qemu or bochs}; shift 2 ;;
	-h|--help) usage 0 ;;
	-*) echo "kmutate: unknown option '$1'" >&2; usage 2 >&2 ;;
	*) [ -z "$pdir" ] || die "one DIR_OF_PATCHES only"; pdir=$1; shift ;;
	esac
done
[ -n "$pdir" ] || usage 2 >&2
[ -d "$pdir" ] || die "$pdir is not a directory"
[ -z "$timeout_s" ] || [[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
case "$series" in 6.12|6.1) ;; *) die "--series must be 6.12 or 6.1, not '$series'" ;; esac
patches=()
for p in "$pdir"/*.patch; do
	[ -f "$p" ] || continue
	# shellcheck disable=SC2254
	case "$(basename "$p")" in $only) patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")") ;; esac
done
[ ${#patches[@]} -gt 0 ] || die "no *.patch in $pdir${only:+ matching '$only'}"
out=${out:-$SUITE/build/kmutate/run}
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
campaign_start=$(date +%s)

# --- the tree, its unpatched modules and upstream's tests --------------------------
tree=$("$SUITE/scripts/kvm-modules.sh" --debian-tree "$series") || exit 2
# What the patches may touch, to check that the tree is restored at the end.
tree_sum() { (cd "$tree" && find arch/x86/kvm virt/kvm arch/x86/include/asm include/linux include/uapi/linux \
	-maxdepth 1 -type f \( -name '*.[ch]' -o -name Makefile -o -name Kconfig \) -print0 | sort -z | xargs -0 md5sum | md5sum); }
sum0=$(tree_sum)

"$SUITE/scripts/kvm-modules.sh" --out "$out/reference/modules" "$tree" > /dev/null ||
	die "building the unpatched modules failed"

ubuild=$KB/upstream/debian-$series
add=$out/add
rm -rf "$add" && mkdir -p "$add/upstream"
nopath=$(echo "$PATH" | tr : '\n' | while read -r d; do
	[ -n "$d" ] && [ ! -x "$d/rustc" ] && echo "$d"; done | paste -sd:)
if [ ! -e "$tree/usr/include/linux/kvm.h" ]; then
	say "installing $tree's UAPI headers (for upstream's selftests)"
	PATH=$nopath make -s -C "$tree" headers_install INSTALL_HDR_PATH=usr > "$out/upstream-build.log" 2>&1 ||
		die "make headers_install in $tree failed ($out/upstream-build.log)"
fi
arch=x86_64
[ -d "$tree/tools/testing/selftests/kvm/x86_64" ] || arch=x86
targets=()
for t in $UPSTREAM_TESTS; do
	[ -f "$tree/tools/testing/selftests/kvm/$arch/$t.c" ] && targets+=("$ubuild/$arch/$t")
done
say "building upstream's MSR selftests from $tree: ${#targets[@]} tests"
mkdir -p "$ubuild"
PATH=$nopath make -s -j2 -C "$tree/tools/testing/selftests/kvm" OUTPUT="$ubuild" "${targets[@]}" \
	>> "$out/upstream-build.log" 2>&1 || die "building upstream's selftests failed ($out/upstream-build.log)"
cp "${targets[@]}" "$add/upstream/" || die "cannot copy upstream's selftests"

# --- one VM run ----------------------------------------------------------------------
# run_vm MODULE_TREE DIR TIMEOUT: vm.out, vm.err, rc in DIR.
run_vm() {
	local mods=$1 dir=$2 t=$3
	"$SUITE/scripts/vmtest.sh" --emulator "$emulator" --kvm-tree "$mods" --baseline --add "$add" \
		--guest-run "$SUITE/scripts/kmutate-guest.sh" --timeout "$t" \
		> "$dir/vm.out" 2> "$dir/vm.err"
	echo $? > "$dir/vm.rc"
}

# The failing-case signatures of a run, one per line, sorted.
signatures() {
	awk '
	/^KMUTATE-BEGIN / { kind = $2; bin = $3; next }
	/^KMUTATE-UPSTREAM / { sub(/rc=/, "", $3); print "upstream " $2 " rc=" $3; next }
	/^KMUTATE-HEALTH / {
		split($4, a, "="); if (a[2] != boot) print $2 " health " $3 " " $4
		if ($5 != "warn=0") print $2 " health " $3 " " $5
		if ($6 != "bug=0") print $2 " health " $3 " " $6
		next
	}
	/^KMUTATE-BOOT / { split($2, a, "="); boot = a[2]; next }
	kind != "ours" { next }
	/^# # DIVERGENCE-NEW / { print "ours " bin ":" $4 " new " $5; next }
	/^# FAIL / { print "ours " $3 " fail"; next }
	/^# KNOWN / {
		w = $0; sub(/^.*, in /, "", w); sub(/: .*$/, "", w); n = split(w, s, " ")
		for (i = 1; i <= n; i++) print "ours " s[i] " known " $3
		next
	}' "$1" | sort -u
}

# --- the reference -------------------------------------------------------------------
mkdir -p "$out/reference"
say "reference run (unpatched $tree)"
t0=$(date +%s)
run_vm "$out/reference/modules" "$out/reference" "${timeout_s:-900}"
ref_wall=$(( $(date +%s) - t0 ))
grep -q '^KMUTATE-END' "$out/reference/vm.out" ||
	{ tail -20 "$out/reference/vm.err" >&2; die "the reference run did not complete (exit $(cat "$out/reference/vm.rc"); $out/reference/vm.err)"; }
signatures "$out/reference/vm.out" > "$out/reference/signatures"
grep -q '^upstream ' "$out/reference/signatures" || die "no upstream results in the reference run"
say "reference: ${ref_wall}s, $(grep -c '^ours' "$out/reference/signatures") failing-case signature(s) of ours, upstream: $(grep '^upstream' "$out/reference/signatures" | awk '{ print $2 "=" $3 }' | tr '\n' ' ')"
if [ -z "$timeout_s" ]; then
	timeout_s=$(( ref_wall * 3 + 60 ))
	[ "$timeout_s" -ge 180 ] || timeout_s=180
fi

# --- the mutants ---------------------------------------------------------------------
rows=$out/rows.tsv
: > "$rows"
html_esc() { sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }
for p in "${patches[@]}"; do
	m=$(basename "$p" .patch)
	d=$out/$m
	rm -rf "$d" && mkdir -p "$d"
	start=$(date +%s)
	what=$(sed -n 's/^Breaks: *//p' "$p" | head -1)
	say "$m: ${what:-?}"
	ours=- ups=- sig= usig= health=-
	"$SUITE/scripts/kvm-modules.sh" --patch "$p" --series "$series" --out "$d/modules" \
		> /dev/null 2> "$d/build.log"
	brc=$?
	if [ "$brc" != 0 ]; then
		if grep -q 'does not apply\|not a unified diff' "$d/build.log"; then
			ours="not applied" ups="not applied" sig="patch does not apply"
		elif [ "$brc" = 1 ]; then
			ours="build error" ups="build error"
			sig=$(grep -m1 -E ': (fatal )?error: ' "$d/build.log" | sed 's|^.*arch/x86/kvm/||' | cut -c1-120)
			[ -n "$sig" ] || sig=$(grep -m1 'FAILED' "$d/build.log" | cut -c1-120)
		else
			ours=error ups=error sig=$(tail -1 "$d/build.log" | cut -c1-120)
		fi
	else
		run_vm "$d/modules" "$d" "$timeout_s"
		signatures "$d/vm.out" > "$d/signatures"
		comm -13 "$out/reference/signatures" "$d/signatures" > "$d/new"
		if ! grep -q '^KMUTATE-END' "$d/vm.out"; then
			if grep -q 'did not finish within' "$d/vm.err"; then
				sig="timeout (VM killed after ${timeout_s}s)"
			else
				sig="crash: $(cat "$d/vm.err" "$d/vm.out" | grep -m1 -E 'Kernel panic|BUG:|Oops|error:' | sed 's/^vmtest: //' | cut -c1-100)"
			fi
			ours=killed ups=killed health=crash
		else
			ours=survived ups=survived
			grep -q '^ours ' "$d/new" && ours=killed
			grep -q '^upstream ' "$d/new" && ups=killed
			grep -q ' health ' "$d/new" && health=$(grep ' health ' "$d/new" | awk '{ print $3 " " $4 }' | head -3 | tr '\n' ';' | sed 's/;$//; s/;/; /g')
			# The first new signature of ours (and how many more), the
			# upstream tests whose result changed.
			sig=$(grep '^ours ' "$d/new" | grep -v ' health ' | head -1 | cut -d' ' -f2-)
			n=$(grep '^ours ' "$d/new" | grep -vc ' health ')
			[ "$n" -le 1 ] || sig="$sig (+$((n - 1)) more)"
			usig=$(grep '^upstream ' "$d/new" | grep -v ' health ' | cut -d' ' -f2- | tr '\n' ',' | sed 's/,$//; s/,/, /g')
		fi
	fi
	wall=$(( $(date +%s) - start ))
	# One line per row, whatever the messages contained.
	sig=$(printf '%s' "$sig" | tr '\t\n' '  ') usig=$(printf '%s' "$usig" | tr '\t\n' '  ')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "${what:-?}" "$ours" "$ups" "${sig:--}" "${usig:--}" "$health" "$wall" >> "$rows"
	say "$m: ours $ours, upstream $ups, ${wall}s${sig:+: $sig}${usig:+; upstream: $usig}"
done

# --- the table -------------------------------------------------------------------------
restored=yes
[ "$(tree_sum)" = "$sum0" ] || restored="NO: $tree differs from before the campaign"
total=${#patches[@]}
cnt() { awk -F'\t' -v c="$1" -v v="$2" '$c == v' "$rows" | grep -c .; }
ko=$(cnt 3 killed) ku=$(cnt 4 killed)
both=$(awk -F'\t' '$3 == "killed" && $4 == "killed"' "$rows" | grep -c .)
neither=$(awk -F'\t' '$3 == "survived" && $4 == "survived"' "$rows" | grep -c .)
bad=$(awk -F'\t' '$3 != "killed" && $3 != "survived"' "$rows" | grep -c .)
wall=$(( $(date +%s) - campaign_start ))
totals="Totals: $total mutants; killed by ours $ko, by upstream $ku, by both $both, by neither $neither; not run (patch/build) $bad; wall time ${wall}s (reference run ${ref_wall}s); tree restored: $restored"
{
	echo "# kmutate: $(basename "$pdir") on Debian's Linux $(sed -n 's/^version=//p' "$out/reference/modules/info") ($([ "$emulator" = bochs ] && echo "kvm_intel under Bochs" || echo "kvm_amd under QEMU TCG"))"
	echo
	echo "| mutant | breaks | ours | upstream | our signature that killed it | upstream tests that killed it | kernel health | wall |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{ gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | %s | %s | %s | %ss |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$rows"
	echo
	echo "$totals"
} > "$out/kmutate.md"
{
	echo "<!DOCTYPE html><html><head><meta charset=utf-8><title>kmutate</title>"
	echo "<style>td,th{border:1px solid #999;padding:2px 6px}table{border-collapse:collapse}.killed{background:#cfc}.survived{background:#fcc}</style></head><body>"
	echo "<h1>kmutate: $(basename "$pdir")</h1><table><tr><th>mutant</th><th>breaks</th><th>ours</th><th>upstream</th><th>our signature that killed it</th><th>upstream tests that killed it</th><th>kernel health</th><th>wall</th></tr>"
	html_esc < "$rows" | awk -F'\t' '{ printf "<tr><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%ss</td></tr>\n", $1, $2, $3, $3, $4, $4, $5, $6, $7, $8 }'
	echo "</table><p>$(echo "$totals" | html_esc)</p></body></html>"
} > "$out/kmutate.html"
cat "$out/kmutate.md"
say "table: $out/kmutate.md, $out/kmutate.html"
