#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build KVM's modules (arch/x86/kvm: kvm, kvm-amd, kvm-intel) from a kernel
# tree for Debian's stock kernel of the same series, so that the suite can
# run a patched KVM without building or booting a whole kernel.
#
#   scripts/kvm-modules.sh [options] TREE      build from TREE
#   scripts/kvm-modules.sh [options] --patch FILE [--series 6.12|6.1]
#                          apply FILE (patch -p1) to the cached copy of
#                          Debian's linux-source-SERIES, build, revert
#   scripts/kvm-modules.sh --debian-tree SERIES
#                          print the cached copy of Debian's tree (a full
#                          extraction of /usr/src/linux-source-SERIES.tar.xz,
#                          once)
#
#   --out DIR    where the modules go: DIR/lib/modules/RELEASE/kernel/
#                arch/x86/kvm/*.ko (an INSTALL_MOD_PATH, as vmtest.sh
#                --modules takes it) and DIR/info (release=: the stock
#                kernel to boot them with, /boot/vmlinuz-RELEASE); default
#                build/kvm/modules/<tree name>.  The path is printed on stdout.
#   -j N, -jN    parallel jobs (default 2: the machine is shared)
#
# TREE must be a Linux 6.12.x or 6.1.x tree whose version is the one of a
# Debian kernel package (the version of linux-source-6.12 / linux-source-6.1).
# Debian's own tree (the cache) is built in place; any other tree is copied
# (rsync, so later builds are incremental) to build/kvm/trees/ and built
# there.  The recipe: the headers package's .config, `make olddefconfig`
# (with no Rust toolchain on PATH: a visible rustc changes the config) which
# must reproduce that .config exactly, `make modules_prepare`, the headers
# package's Module.symvers without kvm's own entries, then
# `make M=arch/x86/kvm modules KERNELRELEASE=<stock release>` with Debian's
# compiler (the one CONFIG_CC_VERSION_TEXT names: x86_64-linux-gnu-gcc-12
# for 6.12, gcc-12 for 6.1).  The built kvm.ko's vermagic must be
# the stock kvm.ko's.  What was recompiled is printed.
#
# Environment: KVM_MODULES_DIR (default build/kvm) holds the cached trees,
# the copies and the module trees.
#
# Exit status: 0 built; 1 the build (or the patch) failed: the message says
# where, the log is kept; 2 could not run: bad arguments, not a kernel tree,
# a version with no matching Debian kernel, packages missing that cannot be
# installed (scripts/setup.sh), the configuration or the vermagic not
# reproduced.
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)
KB=${KVM_MODULES_DIR:-$SUITE/build/kvm}
MARK=.kvm-msr-suite-debian

say() { echo "kvm-modules: $*" >&2; }
die() { echo "kvm-modules: error: $*" >&2; exit 2; }
fail() { echo "kvm-modules: FAILED: $*" >&2; exit 1; }
usage() { sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

tree= patch= series= out= jobs=2 debian_tree=
while [ $# -gt 0 ]; do
	case "$1" in
	--patch) patch=${2:?--patch needs a file}; shift 2 ;;
	--series) series=${2:?--series needs 6.12 or 6.1}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--debian-tree) debian_tree=${2:?--debian-tree needs 6.12 or 6.1}; shift 2 ;;
	-j) jobs=${2:?-j needs a number}; shift 2 ;;
	-j[0-9]*) jobs=${1#-j}; shift ;;
	-h|--help) usage 0 ;;
	-*) echo "kvm-modules: unknown option '$1'" >&2; usage 2 >&2 ;;
	*) [ -z "$tree" ] || die "one TREE only ('$tree', '$1')"; tree=$1; shift ;;
	esac
done
[[ "$jobs" =~ ^[0-9]+$ ]] || die "-j needs a number, not '$jobs'"

check_series() {
	case "$1" in
	6.12|6.1) ;;
	*) die "series '$1' is not supported: 6.12 or 6.1 (Debian 12's kernels)" ;;
	esac
}

# The cached full copy of Debian's linux-source-SERIES; print its path.
debian_src() {
	local s=$1 dir=$KB/src/debian-$1 tarball=/usr/src/linux-source-$1.tar.xz
	check_series "$s"
	if [ ! -e "$dir/$MARK" ]; then
		[ -r "$tarball" ] || "$SUITE/scripts/setup.sh" "src-$s" >&2 ||
			die "$tarball is missing (scripts/setup.sh src-$s installs linux-source-$s)"
		say "extracting $tarball (the whole tree, once) to $dir"
		rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp" || die "cannot create $dir.tmp"
		tar -xJf "$tarball" -C "$dir.tmp" || die "extracting $tarball failed"
		mv "$dir.tmp/linux-source-$s" "$dir" && rmdir "$dir.tmp" || die "unexpected layout in $tarball"
		dpkg-query -W -f='${Version}\n' "linux-source-$s" > "$dir/$MARK" 2>/dev/null || : > "$dir/$MARK"
	fi
	echo "$dir"
}

if [ -n "$debian_tree" ]; then
	debian_src "$debian_tree"
	exit $?
fi

if [ -n "$patch" ]; then
	[ -z "$tree" ] || die "--patch builds Debian's tree: give no TREE"
	[ -r "$patch" ] || die "--patch $patch: cannot read it"
	patch=$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")
	tree=$(debian_src "${series:-6.12}") || exit 2
	out=${out:-$KB/modules/patched}
else
	[ -n "$tree" ] || usage 2 >&2
	[ -z "$series" ] || die "--series goes with --patch (a TREE has its own version)"
fi

# --- the tree and the stock kernel of its version ------------------------------
[ -d "$tree" ] || die "$tree is not a directory"
tree=$(cd "$tree" && pwd)
[ -f "$tree/Makefile" ] && [ -f "$tree/arch/x86/kvm/Makefile" ] ||
	die "$tree is not a Linux source tree (no Makefile, arch/x86/kvm/Makefile)"
version=$(awk '/^VERSION =/ { v = $3 } /^PATCHLEVEL =/ { p = $3 } /^SUBLEVEL =/ { s = $3 }
	END { if (v != "") print v "." p "." s }' "$tree/Makefile")
[ -n "$version" ] || die "$tree/Makefile: no VERSION/PATCHLEVEL/SUBLEVEL"
tseries=${version%.*}
case "$tseries" in
6.12|6.1) ;;
*) die "$tree is Linux $version; KVM modules can be built for Debian's 6.12 and 6.1 kernels: use the tree of linux-source-6.12 or linux-source-6.1 (scripts/kvm-modules.sh --debian-tree 6.12 prints it)" ;;
esac

# Debian's headers packages of the series, "package version" per line.
headers_pkgs() {
	local re="^linux-headers-${tseries//./\\.}(\\.[0-9]+)?(-[0-9]+|\\+deb[0-9]+)?-amd64\$" p
	p=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | grep -E "$re")
	[ -n "$p" ] || return 0
	# shellcheck disable=SC2086
	apt-cache show --no-all-versions $p 2>/dev/null |
		awk '/^Package: / { p = $2 } /^Version: / && p != "" { print p, $2; p = "" }'
}
# The release whose headers have TREE's version: installed ones first, then
# the one with linux-source's Debian version, then the newest.
release=
for d in /usr/src/linux-headers-"$tseries"*-amd64; do
	[ -f "$d/.config" ] || continue
	v=$(dpkg-query -W -f='${Version}' "$(basename "$d")" 2>/dev/null)
	[ "${v%%-*}" = "$version" ] && release=${d##*/linux-headers-}
done
if [ -z "$release" ]; then
	pkgs=$(headers_pkgs)
	srcver=$(dpkg-query -W -f='${Version}' "linux-source-$tseries" 2>/dev/null)
	match=$(echo "$pkgs" | awk -v v="$version" '{ split($2, a, "-") } a[1] == v')
	pick=$(echo "$match" | awk -v s="$srcver" '$2 == s { print $1 }' | head -1)
	[ -n "$pick" ] || pick=$(echo "$match" | awk '{ print $1 }' | sort -V | tail -1)
	if [ -z "$pick" ]; then
		newest=$(echo "$pkgs" | sort -V | tail -1) hpkg=linux-headers-$tseries...-amd64
		[ -z "$newest" ] || hpkg=${newest%% *}
		die "$tree is Linux $version, but Debian has no $tseries kernel of that version${newest:+ (its newest is ${newest#* }: $hpkg)}.
  KVM modules must be built from the tree of the kernel they load into: use linux-source-$tseries${newest:+ (${newest#* })} with $hpkg
  (scripts/kvm-modules.sh --debian-tree $tseries, or rebase your change onto it)"
	fi
	release=${pick#linux-headers-}
fi
hdr=/usr/src/linux-headers-$release
"$SUITE/scripts/setup.sh" kvm-build "kernel-$release" ||
	die "cannot build KVM modules without the packages above (run scripts/setup.sh kvm-build kernel-$release as root)"
[ -f "$hdr/.config" ] && [ -f "$hdr/Module.symvers" ] || die "$hdr has no .config or Module.symvers"
stock=$(find "/lib/modules/$release/kernel/arch/x86/kvm" -name 'kvm.ko*' 2>/dev/null | head -1)
[ -n "$stock" ] || die "no stock kvm.ko in /lib/modules/$release (package linux-image-$release)"

# --- the build tree ------------------------------------------------------------
if [ -e "$tree/$MARK" ]; then
	bt=$tree
	name=debian-$tseries
else
	name=$(basename "$tree")-$(echo "$tree" | cksum | cut -c1-8)
	bt=$KB/trees/$name
	say "copying $tree to $bt (changed files only)"
	mkdir -p "$bt" || die "cannot create $bt"
	# Not its build products nor its configuration: ours are made here.
	rsync -a --exclude=.git --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.cmd' --exclude=/.config --exclude=/.config.old --exclude=/include/config \
		--exclude=/include/generated --exclude=/arch/x86/include/generated \
		--exclude=/Module.symvers --exclude=/vmlinux --exclude='*.a' \
		"$tree/" "$bt/" || die "rsync $tree -> $bt failed"
fi
out=${out:-$KB/modules/$name}
mkdir -p "$KB/logs" && log=$KB/logs/$name.log

# No Rust toolchain on PATH: with one, olddefconfig turns RUST_IS_AVAILABLE on.
PATH=$(echo "$PATH" | tr : '\n' | while read -r d; do
	[ -n "$d" ] && [ ! -x "$d/rustc" ] && [ ! -x "$d/cargo" ] && echo "$d"; done | paste -sd:)
export PATH
# Debian's compiler, as its config names it (6.12: x86_64-linux-gnu-gcc-12,
# 6.1: gcc-12): another one changes the configuration.
CC=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$hdr/.config")
[ -n "$CC" ] || die "$hdr/.config names no compiler (CONFIG_CC_VERSION_TEXT)"
command -v "$CC" > /dev/null || die "$CC (the compiler of $hdr/.config) not found: scripts/setup.sh kvm-build"
KMAKE=(make -C "$bt" -j"$jobs" CC="$CC" KERNELRELEASE="$release")

configure() {
	local sum
	sum=$(cat "$hdr/.config" "$hdr/Module.symvers" | cksum | cut -d' ' -f1)-$release
	[ "$(cat "$bt/.kvm-msr-suite-configured" 2>/dev/null)" = "$sum" ] && return 0
	say "configuring $bt for $release (olddefconfig, modules_prepare: once)"
	cp "$hdr/.config" "$bt/.config" || die "cannot write $bt/.config"
	"${KMAKE[@]}" olddefconfig > "$log" 2>&1 || { cat "$log" >&2; fail "make olddefconfig in $bt (log: $log)"; }
	if ! diff <(grep -v '^#' "$hdr/.config" | grep . | sort) <(grep -v '^#' "$bt/.config" | grep . | sort) > "$log.config-diff"; then
		sed 's/^/  /' "$log.config-diff" | head -20 >&2
		die "make olddefconfig did not reproduce $hdr/.config (differences above, all: $log.config-diff): a compiler other than Debian's $CC, a Rust toolchain, or a tree that is not $version changes options"
	fi
	"${KMAKE[@]}" modules_prepare >> "$log" 2>&1 || { tail -30 "$log" >&2; fail "make modules_prepare in $bt (log: $log)"; }
	# The stock kernel's exports, but kvm's own come from this build.
	awk -F'\t' '$3 !~ /^arch\/x86\/kvm\//' "$hdr/Module.symvers" > "$bt/Module.symvers"
	echo "$sum" > "$bt/.kvm-msr-suite-configured"
}

# Apply the patch; undo it (and any partial application) on the way out.
declare -a saved=()
restore() {
	local f
	[ ${#saved[@]} -gt 0 ] || return 0
	for f in "${saved[@]}"; do
		if [ -e "$bt/.kvm-msr-suite-saved/$f" ]; then
			# A fresh mtime: make rebuilds what the patched file produced.
			cat "$bt/.kvm-msr-suite-saved/$f" > "$bt/$f"
		else
			rm -f "$bt/$f"
		fi
		rm -f "$bt/$f.orig" "$bt/$f.rej"
	done
	rm -rf "$bt/.kvm-msr-suite-saved"
	saved=()
	say "reverted $(basename "$patch") in $bt"
}
if [ -n "$patch" ]; then
	configure
	mapfile -t files < <(sed -n 's/^+++ \([^\t ]*\).*/\1/p' "$patch" | grep -v '^/dev/null$' | cut -d/ -f2-)
	[ ${#files[@]} -gt 0 ] || die "--patch $patch: not a unified diff (no '+++ ' lines)"
	( cd "$bt" && patch -p1 -f -s --dry-run < "$patch" ) > "$log.patch" 2>&1 ||
		{ sed 's/^/  /' "$log.patch" >&2; fail "$(basename "$patch") does not apply to Debian's $version tree ($bt)"; }
	rm -rf "$bt/.kvm-msr-suite-saved"
	trap 'restore' EXIT
	trap 'exit 130' INT TERM
	for f in "${files[@]}"; do
		saved+=("$f")
		[ -e "$bt/$f" ] || continue
		mkdir -p "$bt/.kvm-msr-suite-saved/$(dirname "$f")" && cp "$bt/$f" "$bt/.kvm-msr-suite-saved/$f" ||
			die "cannot save $f"
	done
	( cd "$bt" && patch -p1 -f -s < "$patch" ) > "$log.patch" 2>&1 ||
		{ sed 's/^/  /' "$log.patch" >&2; fail "applying $(basename "$patch") failed"; }
	say "applied $(basename "$patch"): ${files[*]}"
else
	configure
fi

# --- build -----------------------------------------------------------------------
start=$(date +%s)
if ! "${KMAKE[@]}" M=arch/x86/kvm modules > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -20 >&2
	fail "building arch/x86/kvm of $bt (log: $log)"
fi
secs=$(( $(date +%s) - start ))
objs=$(sed -n 's/^ *CC \[M\] *//p' "$log" | sed 's|^arch/x86/kvm/||; s|^\(\.\./\)*||')
n=$(echo "$objs" | grep -c .)
if [ "$n" = 0 ]; then
	say "nothing recompiled (${secs}s)"
else
	say "recompiled $n object(s) in ${secs}s: $(echo $objs | cut -c1-300)"
fi
restore
trap - EXIT

got=$(modinfo -F vermagic "$bt/arch/x86/kvm/kvm.ko" 2>/dev/null)
want=$(modinfo -F vermagic "$stock" 2>/dev/null)
[ -n "$want" ] && [ "$got" = "$want" ] ||
	die "vermagic of the built kvm.ko is '$got', the stock one ($stock) has '$want': they would not load"

dest=$out/lib/modules/$release/kernel/arch/x86/kvm
mkdir -p "$dest" || die "cannot create $dest"
for m in kvm kvm-amd kvm-intel; do
	cmp -s "$bt/arch/x86/kvm/$m.ko" "$dest/$m.ko" || cp "$bt/arch/x86/kvm/$m.ko" "$dest/$m.ko" ||
		die "cannot copy $m.ko to $dest"
done
printf 'release=%s\ntree=%s\nversion=%s\nstock=%s\n' "$release" "$tree" "$version" "$stock" > "$out/info"
say "modules for $release (vermagic ok) in $dest"
echo "$out"
