#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Minimise a fuzzing finding and save it as a regression case.
#
#   scripts/fuzz-save.sh --target T FILE [--build DIR] [--force]
#
# The input is shrunk (chunks removed, halving down to single bytes) as
# long as the replay binary reports the same divergence signature, then
# saved as fuzz/regressions/<T>/<signature>: make check replays it from then
# on.  If it is a divergence of this machine's backend rather than a KVM bug
# to fix, add the line printed at the end to tests/baseline/<backend>.txt
# with the evidence.  An existing file of the same name is kept unless the
# new input is shorter or --force is given.
set -eu
SUITE=$(cd "$(dirname "$0")/.." && pwd)
target= file= build= force=0
while [ $# -gt 0 ]; do
	case "$1" in
	--target) target=$2; shift ;;
	--build) build=$2; shift ;;
	--force) force=1 ;;
	-h|--help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) file=$1 ;;
	esac
	shift
done
[ -n "$target" ] && [ -n "$file" ] || { echo "usage: fuzz-save.sh --target T FILE" >&2; exit 2; }
[ -f "$file" ] || { echo "fuzz-save.sh: no file $file" >&2; exit 2; }
[ -n "$build" ] || build=$(make -s --no-print-directory -C "$SUITE" print-fuzz-dir)
replay=$build/replay/msr_fuzz_replay
[ -x "$replay" ] || { echo "fuzz-save.sh: no $replay: run 'make fuzz'" >&2; exit 2; }

sig_of() { MSR_BASELINE= "$replay" --signature --target "$target" "$1" 2>/dev/null | tail -1; }

sig=$(sig_of "$file")
if [ -z "$sig" ]; then
	echo "fuzz-save.sh: $file does not diverge in replay (flaky, a hang, or a kernel log record from" >&2
	echo "  another process); nothing saved.  Its replay:" >&2
	"$replay" --target "$target" "$file" >&2 || true
	exit 1
fi
echo "fuzz-save.sh: $target.$sig, $(stat -c %s "$file") bytes; minimising"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$file" "$work/cur"
n=$(stat -c %s "$work/cur")
chunk=$(( n / 2 ))
[ "$chunk" -ge 1 ] || chunk=1
tries=0
while [ "$chunk" -ge 1 ]; do
	pos=0
	while [ "$pos" -lt "$(stat -c %s "$work/cur")" ]; do
		size=$(stat -c %s "$work/cur")
		{ head -c "$pos" "$work/cur"; tail -c +$((pos + chunk + 1)) "$work/cur"; } > "$work/try"
		tries=$((tries + 1))
		if [ "$(stat -c %s "$work/try")" -lt "$size" ] && [ "$(sig_of "$work/try")" = "$sig" ]; then
			mv "$work/try" "$work/cur"
		else
			pos=$((pos + chunk))
		fi
	done
	chunk=$((chunk / 2))
done
echo "fuzz-save.sh: $(stat -c %s "$work/cur") bytes after $tries replays"

dest=$SUITE/fuzz/regressions/$target/$sig
mkdir -p "$(dirname "$dest")"
if [ -e "$dest" ] && [ "$force" = 0 ] && [ "$(stat -c %s "$dest")" -le "$(stat -c %s "$work/cur")" ]; then
	echo "fuzz-save.sh: $dest exists and is not longer; kept (--force replaces it)"
else
	cp "$work/cur" "$dest"
	echo "fuzz-save.sh: saved $dest"
fi
echo "fuzz-save.sh: its replay:"
"$replay" --target "$target" "$dest" 2>&1 | sed 's/^/  /' || true
backend=$("$SUITE/scripts/backend.sh" 2>/dev/null || echo "<backend>")
echo "fuzz-save.sh: if this is a known divergence of $backend (not a KVM bug to fix), add to tests/baseline/$backend.txt:"
echo "  $target.$sig [conditions, e.g. guest:-ibpb host:+ibpb kernel>=6.13] | <what the backend does, in words that hold on every host> | <evidence: expected vs actual above, kernel $(uname -r)>"
