#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages kvm-msr-suite needs.
#
#   scripts/setup.sh [--check] [GROUP...]
#
# Groups:
#   build      compiler, make, rsync (headers_install), xz (tree extraction)
#   src-6.12   linux-source-6.12 (the KVM selftests library for kernels >= 6.8)
#   src-6.1    linux-source-6.1  (the library for kernels 6.1 .. 6.7)
#   fuzz       clang with libFuzzer, AFL++
#   m32        gcc-multilib (32-bit userspace build)
#   kvm-build  flex, bison, libelf-dev, bc, gcc-12, rsync, patch (building
#              KVM modules from a tree: scripts/kvm-modules.sh)
#   kernel-RELEASE  linux-headers-RELEASE and linux-image-RELEASE, e.g.
#              kernel-6.12.117+deb12-amd64 (the stock kernel KVM modules
#              are built for and booted with)
#   vm         qemu-system-x86, busybox-static, cpio, kmod (scripts/vmtest.sh:
#              booting other kernels with a minimal initramfs)
#   bochs      bochs with its BIOS and VGA BIOS, syslinux, mtools, dosfstools
#              (scripts/vmtest.sh --emulator bochs: a boot disk without root)
#
# Without a group: "build" and the source package that matches the running
# kernel.  With --check nothing is installed: exit 0 if everything is there,
# otherwise print the apt-get line that would fix it and exit 1.
#
# Called automatically by make when something is missing.  As root it runs
# apt-get; as any other user it prints the exact command and fails.
set -u

declare -A PKGS=(
	[build]="gcc make libc6-dev rsync xz-utils perl"
	[src-6.12]="linux-source-6.12"
	[src-6.1]="linux-source-6.1"
	[fuzz]="clang libclang-rt-14-dev afl++ binutils zip"
	[m32]="gcc-multilib"
	[kvm-build]="flex bison libelf-dev bc gcc-12 make rsync patch kmod xz-utils"
	[vm]="qemu-system-x86 busybox-static cpio kmod xz-utils coreutils"
	[bochs]="bochs bochsbios vgabios syslinux mtools dosfstools binutils"
)

check_only=0
groups=()
for arg in "$@"; do
	case "$arg" in
	--check) check_only=1 ;;
	-h|--help) sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	kernel-?*) PKGS[$arg]="linux-headers-${arg#kernel-} linux-image-${arg#kernel-}"
		groups+=("$arg") ;;
	*)
		if [ -z "${PKGS[$arg]+x}" ]; then
			echo "setup.sh: unknown group '$arg' (known: ${!PKGS[*]})" >&2
			exit 2
		fi
		groups+=("$arg") ;;
	esac
done

if [ ${#groups[@]} -eq 0 ]; then
	groups=(build "src-$("$(dirname "$0")/ksrc.sh" default-version)")
fi

missing=()
for g in "${groups[@]}"; do
	for p in ${PKGS[$g]}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
done

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$check_only" = 1 ]; then
	echo "setup.sh: missing packages: ${missing[*]}" >&2
	echo "setup.sh: fix with: $cmd" >&2
	exit 1
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup.sh: kvm-msr-suite needs these Debian packages: ${missing[*]}" >&2
	echo "setup.sh: run as root:  apt-get update && $cmd" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null; then
	echo "setup.sh: no apt-get here; install the equivalents of: ${missing[*]}" >&2
	exit 1
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale.
apt-get update -qq >&2 || { echo "setup.sh: apt-get update failed" >&2; exit 1; }
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
	echo "setup.sh: '$cmd' failed; see the apt-get output above" >&2
	exit 1
fi
