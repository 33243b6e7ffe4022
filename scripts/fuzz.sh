#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzing campaigns of kvm-msr-suite's targets (fuzz/), bounded, with a summary.
#
#   scripts/fuzz.sh --engine libfuzzer|afl --target T [--jobs N] [--time S] [--out DIR]
#                   [--build DIR] [--no-main] [--name NAME]
#   scripts/fuzz.sh --smoke [--build DIR] [--time S]
#   scripts/fuzz.sh --have libfuzzer|afl
#
# --engine libfuzzer   one libFuzzer process in -fork=N mode (N workers, each a
#                      process with its own VMs), crashes kept, corpus merged;
# --engine afl         AFL++: one -M instance and N-1 -S instances sharing the
#                      sync directory DIR/afl; --no-main runs only -S instances
#                      (a further host on a shared DIR), --name prefixes the
#                      instance names (default: the host name);
# --time S             wall-clock bound (default 60); the campaign stops by itself;
# --out DIR            default build/<tree>/fuzz/campaigns/<engine>-<target>-<date>.
#
# Progress is printed every 10 s (AFL++ rewrites its fuzzer_stats about once a
# minute, so its figures lag); the summary gives execs, exec/s, corpus size
# and every finding grouped by its divergence signature, each with a one-line
# repro command and the command that minimises and saves it as a regression.
#
# --smoke (make fuzz-smoke, part of make check): each target for a few
# seconds (--time, default 4) under each installed engine, starting from the
# generated seeds, then the regression corpus through each engine build; a
# finding fails.  An engine that is not installed is skipped with the fix.
#
# --have ENGINE: exit 0 if ENGINE can build here (for the Makefile).
#
# Without /dev/kvm (or permission on it), or without the engine a campaign
# asks for (or any engine, for --smoke), it prints the SKIP line with the fix
# and exits 4 (scripts/need.sh: make targets turn that into a SKIP, not an
# error).
#
# Known divergences of the backend (tests/baseline/<backend>.txt, entries
# "<target>.<sig> [conditions] | reason | evidence", lib/msr_divergence.h)
# are counted, not reported as findings; MSR_FUZZ_STRICT=1 reports them too.
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)
engine= target= jobs=$(nproc) time=60 out= build= smoke=0 no_main=0 name=$(hostname -s 2>/dev/null || echo host)

die() { echo "fuzz.sh: $*" >&2; exit 2; }

# What this machine lacks is a SKIP (exit 4), said once in scripts/need.sh.
need() { "$SUITE/scripts/need.sh" "$@"; }
have_engine() {
	case "$1" in
	libfuzzer|afl) NEED_SKIPPED= need "$1" > /dev/null ;;
	*) return 1 ;;
	esac
}

while [ $# -gt 0 ]; do
	case "$1" in
	--have) have_engine "${2:-}"; exit ;;
	--engine) engine=$2; shift ;;
	--target) target=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--time) time=$2; shift ;;
	--out) out=$2; shift ;;
	--build) build=$2; shift ;;
	--no-main) no_main=1 ;;
	--name) name=$2; shift ;;
	--smoke) smoke=1 ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done

if [ "$smoke" = 1 ]; then what="fuzz smoke"; else what="fuzz.sh${engine:+ $engine}${target:+ $target}"; fi
need --what "$what" kvm || exit 4
if [ "$smoke" = 0 ] && [ -n "$engine" ]; then
	case "$engine" in
	libfuzzer|afl) need --what "$what" "$engine" || exit 4 ;;
	*) die "unknown engine '$engine' (libfuzzer or afl)" ;;
	esac
fi
[ -n "$build" ] || build=$(make -s --no-print-directory -C "$SUITE" print-fuzz-dir) || die "cannot find the build directory"
replay=$build/replay/msr_fuzz_replay
[ -x "$replay" ] || die "no $replay: run 'make fuzz' first"

targets=$("$replay" --targets | awk '$2 ~ /^[0-9]+$/ {printf "%s ", $1}')

# The divergence signature of a saved input ("" if it does not diverge now).
signature() {	# target file
	MSR_BASELINE= "$replay" --signature --target "$1" "$2" 2>/dev/null | tail -1
}

# Findings of a campaign: group by signature, one repro line each.
report_findings() {	# target file...
	local t=$1 f sig n=0
	shift
	declare -A first=() count=()
	for f in "$@"; do
		[ -f "$f" ] || continue
		sig=$(signature "$t" "$f")
		[ -n "$sig" ] || sig="(does not reproduce in replay: flaky, a hang or a kernel record)"
		count[$sig]=$(( ${count[$sig]:-0} + 1 ))
		[ -n "${first[$sig]:-}" ] || first[$sig]=$f
		n=$((n + 1))
	done
	echo "  findings    $n input(s), ${#count[@]} distinct"
	for sig in "${!count[@]}"; do
		echo "  FINDING     $t.$sig (${count[$sig]} input(s))"
		echo "    repro:    $replay --target $t ${first[$sig]}"
		echo "    save:     $SUITE/scripts/fuzz-save.sh --target $t ${first[$sig]}"
	done
	return $((n > 0))
}

bin_of() {	# engine target
	echo "$build/$1/$2"
}

run_libfuzzer() {	# target jobs time out
	local t=$1 j=$2 s=$3 o=$4 bin log last execs eps corp
	bin=$(bin_of libfuzzer "$t")
	[ -x "$bin" ] || die "no $bin: run 'make fuzz'"
	mkdir -p "$o/corpus" "$o/findings"
	log=$o/libfuzzer.log
	echo "fuzz.sh: libFuzzer $t: $j job(s), ${s}s, corpus $o/corpus, log $log"
	(cd "$o" && exec timeout -k 10 $((s + 60)) "$bin" -fork="$j" -ignore_crashes=1 -ignore_timeouts=1 \
		-ignore_ooms=1 -max_total_time="$s" -print_final_stats=1 \
		-artifact_prefix="$o/findings/" -dict="$build/$t.dict" \
		-max_len="$("$replay" --targets | awk -v t="$t" '$1 == t {print $2}')" \
		"$o/corpus" "$build/seeds/$t" >"$log" 2>&1) &
	local pid=$! start=$SECONDS
	while kill -0 $pid 2>/dev/null; do
		sleep 1
		if [ $(( (SECONDS - start) % 10 )) -eq 0 ]; then
			last=$(grep -a '^#[0-9]*:' "$log" | tail -1)
			[ -n "$last" ] && echo "  [$((SECONDS - start))s] $last"
		fi
	done
	wait $pid
	last=$(grep -a '^#[0-9]*:' "$log" | tail -1)
	execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
	eps=$(echo "$last" | sed -n 's/.*exec\/s:* *\([0-9]*\).*/\1/p')
	corp=$(ls "$o/corpus" | wc -l)
	echo "fuzz.sh: summary: libFuzzer $t, $j job(s), ${s}s"
	echo "  execs       ${execs:-?}"
	echo "  exec/s      ${eps:-?} (all jobs)"
	echo "  corpus      $corp inputs ($o/corpus)"
	report_findings "$t" "$o"/findings/crash-* "$o"/findings/timeout-* "$o"/findings/oom-*
}

afl_env() {
	export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_QUIET=1
	[ "$1" -le "$(nproc)" ] || export AFL_NO_AFFINITY=1
}

run_afl() {	# target jobs time out
	local t=$1 j=$2 s=$3 o=$4 bin i inst pids=() role execs eps corp crashes
	bin=$(bin_of afl "$t")
	[ -x "$bin" ] || die "no $bin: run 'make fuzz'"
	mkdir -p "$o/afl"
	afl_env "$j"
	echo "fuzz.sh: AFL++ $t: $j instance(s), ${s}s, sync dir $o/afl"
	for i in $(seq 1 "$j"); do
		if [ "$i" = 1 ] && [ "$no_main" = 0 ]; then role="-M"; inst=main; else role="-S"; inst=$name-$i; fi
		timeout -k 10 $((s + 60)) afl-fuzz $role "$inst" -i "$build/seeds/$t" -o "$o/afl" \
			-x "$build/$t.dict" -V "$s" -t 2000 -- "$bin" >"$o/afl-$inst.log" 2>&1 &
		pids+=($!)
	done
	local start=$SECONDS
	while kill -0 "${pids[@]}" 2>/dev/null; do
		sleep 1
		if [ $(( (SECONDS - start) % 10 )) -eq 0 ]; then
			echo "  [$((SECONDS - start))s] execs $(cat "$o"/afl/*/fuzzer_stats 2>/dev/null |
				awk '/^execs_done/ {s += $3} END {print s + 0}'), corpus $(cat "$o"/afl/*/fuzzer_stats 2>/dev/null |
				awk '/^corpus_count/ {s += $3} END {print s + 0}'), crashes $(ls "$o"/afl/*/crashes 2>/dev/null | grep -c '^id:')"
		fi
	done
	wait "${pids[@]}"
	execs=$(cat "$o"/afl/*/fuzzer_stats 2>/dev/null | awk '/^execs_done/ {s += $3} END {print s + 0}')
	eps=$(cat "$o"/afl/*/fuzzer_stats 2>/dev/null | awk '/^execs_per_sec/ {s += $3} END {printf "%d", s}')
	corp=$(cat "$o"/afl/*/fuzzer_stats 2>/dev/null | awk '/^corpus_count/ {if ($3 > m) m = $3} END {print m + 0}')
	echo "fuzz.sh: summary: AFL++ $t, $j instance(s), ${s}s"
	if [ ! -e "$o"/afl/*/fuzzer_stats ] 2>/dev/null && ! ls "$o"/afl/*/fuzzer_stats >/dev/null 2>&1; then
		echo "  AFL++ did not start; its output:"
		tail -20 "$o"/afl-*.log | sed 's/^/    /'
		return 1
	fi
	echo "  execs       $execs"
	echo "  exec/s      $eps (all instances; per instance in $o/afl/*/fuzzer_stats)"
	echo "  corpus      $corp inputs (largest instance queue)"
	report_findings "$t" "$o"/afl/*/crashes/id:* "$o"/afl/*/hangs/id:*
}

if [ "$smoke" = 1 ]; then
	[ "$time" = 60 ] && time=4
	fail=0 ran=0
	echo "fuzz.sh: smoke: every target ${time}s per installed engine, then the regression corpus"
	for e in libfuzzer afl; do
		need --what "  $e" "$e" || continue
		if [ ! -d "$build/$e" ]; then
			need --skip "  $e" "not built in $build/$e" "make fuzz"
			continue
		fi
		ran=1
		for t in $targets; do
			o=$(mktemp -d "${TMPDIR:-/tmp}/msr-fuzz-smoke.XXXXXX")
			if [ "$e" = libfuzzer ]; then
				run_libfuzzer "$t" 1 "$time" "$o" > "$o/summary" 2>&1
			else
				run_afl "$t" 1 "$time" "$o" > "$o/summary" 2>&1
			fi
			rc=$?
			execs=$(awk '$1 == "execs" {print $2}' "$o/summary")
			if [ $rc = 0 ] && [ "${execs:-0}" -gt 0 ] 2>/dev/null; then
				echo "  ok    $e $t: $execs execs in ${time}s, no finding"
				rm -rf "$o"
			else
				echo "  FAIL  $e $t (kept in $o):"
				sed 's/^/        /' "$o/summary"
				fail=1
			fi
		done
		# The saved findings through the engine build: listed divergences
		# are counted (not reported), anything else aborts.
		for t in $targets; do
			files=$(ls "$SUITE/fuzz/regressions/$t" 2>/dev/null | wc -l)
			[ "$files" -gt 0 ] || continue
			if [ "$e" = libfuzzer ]; then
				"$(bin_of "$e" "$t")" -runs=0 "$SUITE/fuzz/regressions/$t"/* > /tmp/msr-fuzz-replay.$$ 2>&1
			else
				"$(bin_of "$e" "$t")" "$SUITE/fuzz/regressions/$t"/* > /tmp/msr-fuzz-replay.$$ 2>&1
			fi
			if [ $? = 0 ]; then
				echo "  ok    $e $t: $files regression input(s) replayed (known divergences counted)"
			else
				echo "  FAIL  $e $t: regression replay"; sed 's/^/        /' /tmp/msr-fuzz-replay.$$ | tail -30
				fail=1
			fi
			rm -f /tmp/msr-fuzz-replay.$$
		done
	done
	if [ $fail = 0 ] && [ $ran = 0 ]; then
		need --skip "fuzz smoke" "no fuzz engine" "scripts/setup.sh fuzz as root"
		exit 4
	fi
	echo "fuzz.sh: smoke $([ $fail = 0 ] && echo passed || echo FAILED)"
	exit $fail
fi

[ -n "$engine" ] || die "--engine libfuzzer|afl is required (see --help)"
[ -n "$target" ] || die "--target is required: one of" $targets
echo " $targets " | grep -q " $target " || die "no target '$target' (targets: $(echo $targets))"
[ -n "$out" ] || out=$build/campaigns/$engine-$target-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out" && out=$(cd "$out" && pwd)

case "$engine" in
libfuzzer) run_libfuzzer "$target" "$jobs" "$time" "$out" ;;
afl) run_afl "$target" "$jobs" "$time" "$out" ;;
*) die "unknown engine '$engine' (libfuzzer or afl)" ;;
esac
