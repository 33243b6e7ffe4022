#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Line and branch coverage of the reference model by its unit tests.
#   coverage.sh KDIR HEADERS OUTDIR
# KDIR: the kernel tree (for kselftest_harness.h); HEADERS: its installed
# UAPI headers.  The model is compiled once with --coverage, so the counts of
# all unit test binaries add up.
set -euo pipefail
kdir=$1 hdr=$2 out=$3
suite=$(cd "$(dirname "$0")/.." && pwd)
model="lib/msr_model.c lib/msr_catalog.c lib/msr_divergence.c"
# Linked too, not measured: MSR names (the table generated from the tree's msr-index.h).
support="lib/msr_names.c"
cc=${CC:-gcc}
flags=(-std=gnu11 -O0 -g --coverage -D_GNU_SOURCE -Wall
       -include "$suite/tests/unit/msr_gcov_exit.h"
       -I"$suite/lib" -I"$suite/tests/unit" -I"$kdir/tools/testing/selftests" -isystem "$hdr")

rm -rf "$out" && mkdir -p "$out"
cd "$suite"
objs=()
for src in $model; do
	obj=$out/$(basename "$src" .c).o
	"$cc" "${flags[@]}" -c "$suite/$src" -o "$obj"
	objs+=("$obj")
done
sh "$suite/scripts/gen_msr_names.sh" "$kdir/tools/arch/x86/include/asm/msr-index.h" > "$out/msr_names_table.c"
for src in "$suite/$support" "$out/msr_names_table.c"; do
	obj=$out/support_$(basename "$src" .c).o
	"$cc" -std=gnu11 -O0 -g -D_GNU_SOURCE -I"$suite/lib" -c "$src" -o "$obj"
	objs+=("$obj")
done
for t in tests/unit/*_test.c; do
	bin=$out/$(basename "$t" .c)
	"$cc" "${flags[@]}" "$t" "${objs[@]}" -o "$bin"
	"$bin" > "$bin.log" 2>&1 || { cat "$bin.log"; echo "coverage.sh: $t failed" >&2; exit 1; }
done
cd "$out"
gcov -b -o "$out" $(for s in $model; do echo "$suite/$s"; done) > gcov.txt
awk '/^File/ { f = $2 } /^Calls/ { f = "" }
     /^(Lines|Branches|Taken)/ { print (f == "" ? "total" : f) ": " $0 }' gcov.txt | tr -d "'"
echo "annotated sources: $out/*.gcov"
