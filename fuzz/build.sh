#!/bin/bash -eu
# SPDX-License-Identifier: GPL-2.0
#
# Build the fuzz targets under the OSS-Fuzz contract:
#   $CC $CFLAGS          compiler and flags for the harnesses (instrumented)
#   $LIB_FUZZING_ENGINE  the engine to link (-fsanitize=fuzzer, libAFLDriver.a, ...)
#   $OUT                 where <target>, <target>_seed_corpus.zip, <target>.dict and
#                        <target>.options go
# Run by hand it defaults to clang + libFuzzer into build/oss-fuzz/.  KSRC is
# passed to make as usual.
#
# The KVM selftests library and the guest payloads are built by the kernel
# tree's own Makefile with its compiler and flags and linked uninstrumented:
# code that runs inside the guest must never call a coverage or sanitizer
# callback.  The targets (fuzz/<target>.c), the runtime (fuzz/fuzz_common.c)
# and the model (lib/msr_model.c, lib/msr_catalog.c) get $CFLAGS.  The
# fuzzers need /dev/kvm at run time; without it they exit 4 (SKIP) with the
# reason.
SUITE=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:=clang}"
: "${CFLAGS:=-O1 -g}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:=$SUITE/build/oss-fuzz}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The tree's build must not pick up OSS-Fuzz's compiler from the environment.
mk() { env -u CC -u CFLAGS -u CXX -u CXXFLAGS -u LDFLAGS -u CPPFLAGS \
	make -s --no-print-directory -C "$SUITE" "$@"; }

mk fuzz-oss OSSFUZZ_CC="$CC" OSSFUZZ_CFLAGS="$CFLAGS" OSSFUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
	OSSFUZZ_OUT="$OUT"
fuzz_dir=$(mk print-fuzz-dir)
for t in $("$fuzz_dir/replay/msr_fuzz_replay" --targets | awk '$2 ~ /^[0-9]+$/ {print $1}'); do
	rm -f "$OUT/${t}_seed_corpus.zip"
	(cd "$fuzz_dir/seeds/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
	cp "$fuzz_dir/$t.dict" "$fuzz_dir/$t.options" "$OUT/"
	echo "  OSS-FUZZ $OUT/$t (+ ${t}_seed_corpus.zip, $t.dict, $t.options)"
done
