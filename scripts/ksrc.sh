#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel trees for the KVM selftests library.
#
#   ksrc.sh default-version [KERNEL_RELEASE]
#       Which Debian linux-source to use for a running kernel: "6.12" for
#       kernels >= 6.8, "6.1" below.  The 6.8+ library requires
#       KVM_SET_USER_MEMORY_REGION2 and SKIPs every test on older kernels,
#       while the MSR ABI under test exists since 5.10.
#   ksrc.sh extract VERSION DEST
#       Extract the subtrees of /usr/src/linux-source-VERSION.tar.xz that
#       headers_install and the selftests library need into
#       DEST/linux-source-VERSION (once: a stamp makes it a no-op later).
#   ksrc.sh check DIR
#       Refuse trees that cannot serve (missing selftests, older than 6.1)
#       and print the tree's version.
#   ksrc.sh cflags DIR
#       Compiler flags that tell lib/compat.h what this tree's library and
#       harness provide (detected from the tree, not guessed from versions).
set -eu

die() { echo "ksrc.sh: $*" >&2; exit 1; }

# "6.12.3-amd64" -> 612 (major * 100 + minor)
ver_num() { echo "$1" | awk -F'[.-]' '{ printf "%d\n", $1 * 100 + $2 }'; }

tree_version() {
	awk '/^VERSION =/ { v = $3 } /^PATCHLEVEL =/ { p = $3 }
	     /^SUBLEVEL =/ { s = $3 } END { if (v != "") print v "." p "." s }' \
		"$1/Makefile" 2>/dev/null || true
}

# What headers_install and tools/testing/selftests/kvm read, relative to the
# tree root.  Everything else of the ~1.5 GB tree stays in the tarball.
SUBTREES="Makefile scripts include/uapi arch/x86/Makefile arch/x86/include/uapi
	arch/x86/entry/syscalls arch/x86/tools tools/include tools/arch/x86/include
	tools/build tools/scripts tools/testing/selftests/kvm
	tools/testing/selftests/lib.mk tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest tools/testing/selftests/run_kselftest.sh
	tools/testing/selftests/rseq usr tools/lib/rbtree.c"

cmd=${1:-}
case "$cmd" in
default-version)
	rel=${2:-$(uname -r)}
	if [ "$(ver_num "$rel")" -ge 608 ]; then echo 6.12; else echo 6.1; fi
	;;
extract)
	[ $# -eq 3 ] || die "usage: ksrc.sh extract VERSION DEST"
	ver=$2 dest=$3
	tarball=/usr/src/linux-source-$ver.tar.xz
	top=linux-source-$ver
	stamp=$dest/$top/.kvm-msr-suite-extracted
	[ -e "$stamp" ] && exit 0
	[ -r "$tarball" ] || die "$tarball not found; install it with: scripts/setup.sh src-$ver"
	echo "  EXTRACT  $tarball -> $dest/$top (selftests subtrees only)" >&2
	mkdir -p "$dest"
	rm -rf "${dest:?}/$top"
	members=""
	for s in $SUBTREES; do members="$members $top/$s"; done
	# Older trees lack some members (e.g. kselftest/ in 6.1 is complete,
	# rseq may move): extract what exists, fail only on real errors.
	# shellcheck disable=SC2086
	tar -xJf "$tarball" -C "$dest" $members 2>"$dest/extract.log" ||
		grep -v 'Not found in archive\|Exiting with failure status' "$dest/extract.log" >&2 || true
	[ -f "$dest/$top/tools/testing/selftests/kvm/Makefile" ] ||
		die "extraction of $tarball failed (see $dest/extract.log)"
	touch "$stamp"
	;;
check)
	[ $# -eq 2 ] || die "usage: ksrc.sh check DIR"
	dir=$2
	[ -d "$dir" ] || die "KSRC=$dir is not a directory"
	[ -f "$dir/tools/testing/selftests/kvm/Makefile" ] ||
		die "KSRC=$dir is not a Linux source tree with tools/testing/selftests/kvm"
	ver=$(tree_version "$dir")
	[ -n "$ver" ] || die "KSRC=$dir: cannot read VERSION/PATCHLEVEL from its Makefile"
	[ "$(ver_num "$ver")" -ge 601 ] ||
		die "KSRC=$dir is Linux $ver; kvm-msr-suite supports the KVM selftests library of 6.1 and later"
	echo "$ver"
	;;
cflags)
	[ $# -eq 2 ] || die "usage: ksrc.sh cflags DIR"
	dir=$2 sel=$2/tools/testing/selftests
	ver=$(tree_version "$dir")
	echo "$ver" | awk -F. '{ printf "-DKSFT_LIB_VERSION=%d", $1 * 65536 + $2 * 256 + ($3 > 255 ? 255 : $3) }'
	# Until ~6.9 the harness reported a test child's SKIP only as exit 255.
	grep -q 'WEXITSTATUS(status) == 255' "$sel/kselftest_harness.h" &&
		printf ' -DKSFT_HARNESS_SKIP_255'
	# Until 6.10 x86 tests had to set up the guest IDT themselves.
	grep -qs 'void vcpu_init_descriptor_tables' "$sel"/kvm/include/x86*/processor.h &&
		printf ' -DKSFT_HAS_DESCRIPTOR_TABLES'
	echo
	;;
*)
	die "usage: ksrc.sh default-version|extract|check|cflags ..."
	;;
esac
