#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Seed corpora, dictionaries and libFuzzer options of every fuzz target,
# generated from the MSR catalog by the targets' own encoders (the
# .seeds() of fuzz/<target>.c, through the replay binary):
#
#   scripts/fuzz-seeds.sh REPLAY_BIN OUT_DIR
#
# writes OUT_DIR/seeds/<target>/*, OUT_DIR/<target>.dict and
# OUT_DIR/<target>.options.  Nothing here is hand-typed.
set -eu
replay=$1
out=$2
mkdir -p "$out"
rm -rf "$out/seeds"
"$replay" --seeds "$out/seeds" >/dev/null
"$replay" --targets | awk '$2 ~ /^[0-9]+$/' | while read -r t max_len _; do
	"$replay" --dict "$out/$t.dict" --target "$t" >/dev/null
	printf '[libfuzzer]\nmax_len = %s\ndict = %s.dict\n' "$max_len" "$t" > "$out/$t.options"
	echo "  SEEDS    $t: $(ls "$out/seeds/$t" | wc -l) seeds, $(grep -c '=' "$out/$t.dict") dictionary tokens"
done
