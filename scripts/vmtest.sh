#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run kvm-msr-suite inside another kernel, booted under QEMU or Bochs.
#
#   scripts/vmtest.sh [options] [-- run_tests.sh options]
#
#   --kernel K       what to boot (default debian:6.12):
#                      debian:6.1, debian:6.12  newest Debian linux-image-*-amd64
#                                               of that series (apt; cached in
#                                               build/vm/debs/)
#                      path/linux-image-*.deb   a kernel package
#                      path/bzImage             a kernel image; KVM modules from
#                                               --modules (or built in)
#   --kvm-tree DIR   KVM modules built from the kernel tree DIR
#                    (scripts/kvm-modules.sh: 6.12.x or 6.1.x, the version of a
#                    Debian kernel) instead of the stock ones, in the stock
#                    Debian kernel they are built for (/boot/vmlinuz-RELEASE)
#                    (or the module tree scripts/kvm-modules.sh printed)
#   --kvm-patch FILE the same for Debian's linux-source tree (of --kernel
#                    debian:SERIES; 6.12 by default) with FILE applied; the
#                    cached tree is reverted after the build
#   --add DIR        copy DIR into the initramfs as /add (with the libraries
#                    of its binaries)
#   --guest-run FILE run the bash script FILE in the guest instead of the
#                    suite's runner (with the same arguments; the suite is in
#                    /suite, its stdout is vmtest's; scripts/kmutate.sh)
#   --modules DIR    modules for a bzImage: an INSTALL_MOD_PATH
#                    (DIR/lib/modules/RELEASE), DIR/RELEASE, or the kernel
#                    build tree itself (searched for kvm.ko)
#   --emulator qemu|bochs  default qemu; bochs emulates VMX, so the guest's
#                    KVM is kvm_intel (scripts/vm-bochs.sh; 3-5 minutes for
#                    the suite, see README)
#   --accel tcg|kvm  QEMU only: default tcg (nested SVM emulated by QEMU:
#                    kvm_amd); kvm needs a host whose /dev/kvm can run a full
#                    guest
#   --cpu MODEL      QEMU CPU model (default: max with tcg, host with kvm); it
#                    needs SVM or VMX, and x86-64-v2 (the selftests library is
#                    built with -march=x86-64-v2: qemu64 gets SIGILL).  Bochs
#                    CPU model (default corei7_skylake_x), one with VMX
#   --append ARGS    extra kernel command line; MODULE.PARAM=VALUE words are
#                    also passed to the modules loaded inside the guest
#   --ksrc KSRC      library tree for the suite (make KSRC=...); default: the
#                    Debian tree that matches the kernel (scripts/ksrc.sh
#                    default-version: 6.1 below 6.8, 6.12 from 6.8 on)
#   --baseline       compare with tests/baseline (as make check does):
#                    known divergences of the guest's backend are XFAIL; with
#                    --accel tcg also those of QEMU's emulated CPU below it
#                    (tests/baseline/<backend>-qemu-tcg.txt, appended to
#                    the VM's <backend>.txt), with --emulator bochs those of
#                    Bochs' CPU (<backend>-bochs.txt)
#   --timeout SECS   bound on the whole QEMU or Bochs run (default: 120 s for
#                    booting plus the suite's per-binary timeout
#                    (tests/settings) for each binary, so a hanging test is
#                    reported as a TIMEOUT by the runner before the VM is
#                    killed; under Bochs 900 s)
#   --smp N, --mem MB  guest size (default 1 CPU, 1024 MB)
#   -v, --verbose    copy the guest console (kernel log) to stderr as it comes
#
# The suite is built with `make install` against the matching library,
# packed with busybox into an initramfs, and run inside the guest by its own
# runner (run_tests.sh over run_kselftest.sh) after loading irqbypass, kvm
# (force_emulation_prefix=1), ccp and kvm-amd or kvm-intel.  The suite's TAP
# comes out on stdout (a second serial port), everything else (kernel log,
# progress) goes to stderr and build/vm/<kernel>/console.log.
#
# Exit status: the suite's (0 pass, 1 failures); 2 when the run could not be
# done: bad arguments, no kernel, a kernel that does not boot or gives no
# /dev/kvm, QEMU or Bochs failing or exceeding --timeout; 4 (SKIP, with the
# reason and the fix) when this machine lacks what it needs: QEMU, Bochs or
# the initramfs tools and they cannot be installed (scripts/setup.sh vm,
# bochs), or, with --accel kvm, /dev/kvm or permission on it
# (scripts/need.sh).
set -u

SUITE=$(cd "$(dirname "$0")/.." && pwd)
VMDIR=${VMTEST_DIR:-$SUITE/build/vm}

kernel=debian:6.12 modules= emulator=qemu accel= cpu= append= ksrc= baseline=0
timeout_s= smp=1 mem=1024 verbose=0 kvm_tree= kvm_patch= add= guest_run=
run_args=()

say() { echo "vmtest: $*" >&2; }
die() { echo "vmtest: error: $*" >&2; exit 2; }
usage() { sed -n '3,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2:?--kernel needs an argument}; shift 2 ;;
	--modules) modules=${2:?--modules needs a directory}; shift 2 ;;
	--emulator) emulator=${2:?--emulator needs qemu or bochs}; shift 2 ;;
	--kvm-tree) kvm_tree=${2:?--kvm-tree needs a kernel tree}; shift 2 ;;
	--kvm-patch) kvm_patch=${2:?--kvm-patch needs a patch file}; shift 2 ;;
	--add) add=${2:?--add needs a directory}; shift 2 ;;
	--guest-run) guest_run=${2:?--guest-run needs a script}; shift 2 ;;
	--accel) accel=${2:?--accel needs tcg or kvm}; shift 2 ;;
	--cpu) cpu=${2:?--cpu needs a model}; shift 2 ;;
	--append) append=${2?--append needs arguments}; shift 2 ;;
	--ksrc) ksrc=${2:?--ksrc needs a tree}; shift 2 ;;
	--baseline) baseline=1; shift ;;
	--timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	-v|--verbose) verbose=1; shift ;;
	-h|--help) usage 0 ;;
	--) shift; run_args=("$@"); break ;;
	*) echo "vmtest: unknown option '$1'" >&2; usage 2 >&2 ;;
	esac
done

case "$emulator" in
qemu) accel=${accel:-tcg} ;;
bochs) [ -z "$accel" ] || die "--accel is for QEMU; Bochs emulates the CPU itself"
       "$SUITE/scripts/need.sh" --what "vmtest --emulator bochs" vm bochs || exit 4
       cpu=${cpu:-corei7_skylake_x} accel=bochs ;;
*) die "--emulator must be qemu or bochs, not '$emulator'" ;;
esac
case "$accel" in
bochs) ;;
tcg) cpu=${cpu:-max} ;;
kvm) cpu=${cpu:-host}
     "$SUITE/scripts/need.sh" --what "vmtest --accel kvm" kvm || exit 4 ;;
*) die "--accel must be tcg or kvm, not '$accel'" ;;
esac
[ -z "$timeout_s" ] || [[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"

# QEMU, the static busybox, cpio, kmod (installed as root): SKIP without.
"$SUITE/scripts/need.sh" --what vmtest vm || exit 4
BUSYBOX=/bin/busybox

[ -z "$add" ] || [ -d "$add" ] || die "--add $add is not a directory"
[ -z "$guest_run" ] || [ -r "$guest_run" ] || die "--guest-run $guest_run: cannot read it"

# --- KVM modules built from a tree, for the stock kernel they match --------------
kvm_mods=
if [ -n "$kvm_tree" ] || [ -n "$kvm_patch" ]; then
	[ -z "$kvm_tree" ] || [ -z "$kvm_patch" ] || die "--kvm-tree or --kvm-patch, not both"
	case "$kernel" in debian:6.12|debian:6.1) ;; *) die "--kvm-tree/--kvm-patch boot the stock kernel they are built for: no --kernel $kernel" ;; esac
	if [ -r "$kvm_tree/info" ]; then
		out=$kvm_tree	# built already: a module tree of kvm-modules.sh
	elif [ -n "$kvm_tree" ]; then
		out=$("$SUITE/scripts/kvm-modules.sh" "$kvm_tree")
	else
		out=$("$SUITE/scripts/kvm-modules.sh" --patch "$kvm_patch" --series "${kernel#debian:}")
	fi
	rc=$?
	[ "$rc" = 0 ] || exit "$rc"	# it said why (1: build or patch failed, 2: could not run)
	krel=$(sed -n 's/^release=//p' "$out/info")
	kernel=/boot/vmlinuz-$krel modules=/lib/modules/$krel kvm_mods=$out/lib/modules/$krel
	[ -r "$kernel" ] || die "$kernel is missing (scripts/setup.sh kernel-$krel installs linux-image-$krel)"
fi

# --- the kernel ------------------------------------------------------------

# Newest linux-image-SERIES...-amd64 that apt can install, e.g. for 6.1
# linux-image-6.1.0-56-amd64, for 6.12 linux-image-6.12.117+deb12-amd64.
debian_pkg() {
	local series=$1 re pkgs p
	re="^linux-image-${series//./\\.}(\\.[0-9]+)?(-[0-9]+|\\+deb[0-9]+)?-amd64\$"
	pkgs=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | grep -E "$re")
	if [ -z "$pkgs" ] && [ "$(id -u)" = 0 ]; then
		say "no $series kernel in apt's lists; apt-get update"
		apt-get update -qq >&2 || true
		pkgs=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{ print $1 }' | grep -E "$re")
	fi
	for p in $(echo "$pkgs" | sort -V -r); do
		apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]' && { echo "$p"; return 0; }
	done
	return 1
}

# Download (once) the package of debian:SERIES into $VMDIR/debs; print it.
debian_deb() {
	local series=$1 pkg deb
	mkdir -p "$VMDIR/debs"
	if pkg=$(debian_pkg "$series"); then
		deb=$(ls "$VMDIR/debs/${pkg}"_*.deb 2>/dev/null | sort -V | tail -1)
		if [ -z "$deb" ]; then
			say "downloading $pkg"
			(cd "$VMDIR/debs" && apt-get download "$pkg" >&2 2>/dev/null) ||
			(cd "$VMDIR/debs" && apt-get download "$pkg" >&2) ||
				die "apt-get download $pkg failed"
			deb=$(ls "$VMDIR/debs/${pkg}"_*.deb | sort -V | tail -1)
		fi
	else
		# No apt lists (offline): the newest package downloaded before.
		deb=$(ls "$VMDIR"/debs/linux-image-"$series"[.+-]*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
		[ -n "$deb" ] || die "no Debian linux-image package for $series found by apt-cache, none cached in $VMDIR/debs"
		say "apt knows no $series kernel; using the cached $(basename "$deb")"
	fi
	echo "$deb"
}

# Extract a kernel package once; set kimage, krel, moddir.
use_deb() {
	local deb=$1 dir
	[ -r "$deb" ] || die "cannot read $deb"
	dir=$VMDIR/kernels/$(basename "$deb" .deb)
	if [ ! -e "$dir/.extracted" ]; then
		say "extracting $(basename "$deb")"
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
		touch "$dir/.extracted"
	fi
	kimage=$(ls "$dir"/boot/vmlinuz-* 2>/dev/null | head -1)
	[ -n "$kimage" ] || die "$deb has no boot/vmlinuz-*"
	krel=${kimage##*/vmlinuz-}
	moddir=
	for d in "$dir/lib/modules/$krel" "$dir/usr/lib/modules/$krel"; do
		[ -d "$d" ] && moddir=$d
	done
	kname=$(basename "$deb" .deb)
}

# The release string in a bzImage's setup header (kernel_version field).
bzimage_release() {
	local f=$1 off
	[ "$(dd if="$f" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ] || return 1
	off=$(od -An -tu2 -j $((0x20e)) -N2 "$f" | tr -d ' ')
	dd if="$f" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' | head -1 | awk '{ print $1 }'
}

case "$kernel" in
debian:*)
	deb=$(debian_deb "${kernel#debian:}") || exit 2	# it said why
	use_deb "$deb" ;;
*.deb)
	use_deb "$kernel" ;;
*)
	[ -r "$kernel" ] || die "--kernel $kernel: no such file (a bzImage, a .deb, or debian:6.1/debian:6.12)"
	kimage=$(cd "$(dirname "$kernel")" && pwd)/$(basename "$kernel")
	krel=$(bzimage_release "$kimage") || die "$kernel is not a bzImage (no HdrS setup header)"
	kname=bzimage-$krel
	moddir=
	if [ -n "$modules" ]; then
		for d in "$modules/lib/modules/$krel" "$modules/$krel" "$modules"; do
			[ -d "$d" ] && { moddir=$d; break; }
		done
		[ -n "$moddir" ] || die "--modules $modules is not a directory"
	elif [ -d "/lib/modules/$krel" ]; then
		moddir=/lib/modules/$krel
	fi ;;
esac
case "$kernel" in debian:*|*.deb)
	[ -n "$modules" ] && say "--modules is ignored for $kernel (the package has its modules)" ;;
esac

# --- the suite, built against the matching library ---------------------------

if [ -z "$ksrc" ]; then
	ksrc=debian:$("$SUITE/scripts/ksrc.sh" default-version "$krel")
fi
work=$VMDIR/$kname
root=$work/root
mkdir -p "$work"
say "kernel $krel ($kimage), library $ksrc"

rm -rf "$root" && mkdir -p "$root"
make -s -C "$SUITE" KSRC="$ksrc" install INSTALL_PATH="$root/suite" >&2 ||
	die "building the suite (make KSRC=$ksrc install) failed"

# --- initramfs -------------------------------------------------------------
# Shared libraries, not a static build: the VM runs the very binaries that
# make install produced for the host (built as the kernel's selftests build
# them), and the kselftest runner needs GNU timeout (--foreground) and
# stdbuf, run_tests.sh needs bash: all dynamic, so their libraries (found
# by ldd) come along anyway.

# copy_elf FILE: FILE at the same path in the initramfs, with its libraries.
copy_elf() {
	local f lib
	for f in "$@"; do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
		for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
}

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,modules,etc}
cp "$BUSYBOX" "$root/bin/busybox"
copy_elf /bin/bash /usr/bin/timeout /usr/bin/stdbuf
[ -e /usr/libexec/coreutils/libstdbuf.so ] && copy_elf /usr/libexec/coreutils/libstdbuf.so
[ -z "$add" ] || cp -a "$add" "$root/add" || die "cannot copy $add"
[ -z "$guest_run" ] || cp "$guest_run" "$root/guest-run" || die "cannot copy $guest_run"
for t in "$root"/suite/*/* $(find "$root/add" -type f 2>/dev/null); do
	[ -f "$t" ] && [ -x "$t" ] || continue		# ldd names no library for scripts
	for lib in $(ldd "$t" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
	done
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"

# Modules: irqbypass, kvm, ccp, kvm-amd, kvm-intel and whatever they depend
# on (modinfo -F depends), decompressed, in load order (dependencies first).
declare -A modfile=() loaded=()
modorder=()
find_module() {
	local name=$1 alt f
	[ -n "${modfile[$name]+x}" ] && return 0
	alt=$(echo "$name" | tr _ -)
	f=$(find $kvm_mods "$moddir" \( -name "$name.ko" -o -name "$name.ko.*" -o -name "$alt.ko" -o -name "$alt.ko.*" \) 2>/dev/null | head -1)
	modfile[$name]=$f
}
add_module() {
	local name dep
	name=$(echo "$1" | tr - _)
	[ -n "${loaded[$name]+x}" ] && return 0
	loaded[$name]=1
	find_module "$name"
	[ -n "${modfile[$name]}" ] || return 0	# built in, or not built at all
	for dep in $(modinfo -F depends "${modfile[$name]}" 2>/dev/null | tr , ' '); do
		add_module "$dep"
	done
	modorder+=("$name")
}
# Under Bochs only kvm_intel can load, and .BTF is dropped: the kernel's
# parsing of module BTF is most of insmod's time under emulation (issue 14's
# probe: insmod kvm takes 9 s without it).
vendor_mods="kvm_amd kvm_intel"
[ "$accel" = bochs ] && vendor_mods=kvm_intel
if [ -n "$moddir" ]; then
	for m in $vendor_mods; do add_module "$m"; done
	for name in "${modorder[@]}"; do
		f=${modfile[$name]}
		case "$f" in
		*.ko.xz) xz -dc "$f" ;;
		*.ko.zst) zstd -qdc "$f" ;;
		*.ko.gz) gzip -dc "$f" ;;
		*) cat "$f" ;;
		esac > "$root/modules/$name.ko" || die "cannot decompress $f"
		if [ "$accel" = bochs ]; then
			objcopy --remove-section=.BTF "$root/modules/$name.ko" ||
				die "objcopy --remove-section=.BTF $name.ko failed"
		fi
		echo "$name" >> "$root/modules/order"
	done
	say "modules: ${modorder[*]:-none found in $moddir (built in?)}"
	[ -z "$kvm_mods" ] || say "KVM modules built from ${kvm_tree:-$kvm_patch}: $(cd "$kvm_mods" && find . -name '*.ko' | sort | tr '\n' ' ')"
else
	say "no modules directory: KVM must be built into $kimage"
fi
: >> "$root/modules/order"

# run_tests.sh with its arguments, quoted for bash.  Under TCG or Bochs the
# "CPU" below the guest's KVM is an emulation: what it does differently from
# hardware (tests/baseline/<backend>-qemu-tcg.txt, <backend>-bochs.txt) is
# added to the VM's copy of <backend>.txt, which run_tests.sh reads.
emu_base=
case "$accel" in tcg) emu_base=qemu-tcg ;; bochs) emu_base=bochs ;; esac
{
	echo '#!/bin/bash'
	if [ "$baseline" = 1 ] && [ -n "$emu_base" ]; then
		cat <<-EOS
		b=\$(/suite/kvm-msr-suite/backend.sh) d=/suite/kvm-msr-suite/baseline
		if [ -r "\$d/\$b-$emu_base.txt" ]; then
		    echo "# --- vmtest.sh: \$b-$emu_base.txt (the emulated CPU below the guest) ---" >> "\$d/\$b.txt"
		    cat "\$d/\$b-$emu_base.txt" >> "\$d/\$b.txt"
		fi
		EOS
	fi
	if [ -n "$guest_run" ]; then
		printf 'exec bash /guest-run'
	else
		printf 'exec bash /suite/kvm-msr-suite/run_tests.sh'
		[ "$baseline" = 1 ] && printf ' --baseline /suite/kvm-msr-suite/baseline'
		printf ' /suite'
	fi
	[ ${#run_args[@]} -gt 0 ] && printf ' %q' "${run_args[@]}"
	echo
} > "$root/run-suite"

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
# kvm-msr-suite guest init (scripts/vmtest.sh).  ttyS0: console (kernel log,
# these messages, the suite's stderr); ttyS1: the suite's stdout (TAP).
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# What udev would add; the kselftest runner writes to /dev/stdout.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/shm /dev/pts /root
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
say() { echo "vmtest-guest: $*" > /dev/console; }
# Power off; should that fail, the builtin echo and exit still end the VM
# (sysrq, or init exiting: panic=-1 reboots and QEMU runs with -no-reboot).
finish() { say "VMTEST-STATUS $1"; sync; poweroff -f; echo o > /proc/sysrq-trigger; exit "$1"; }
say "VMTEST-BOOTED $(uname -r)"

# MODULE.PARAM=VALUE words of the command line, as modprobe would pass them.
params() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1\.\([^=]*=.*\)/\1/p" | tr '\n' ' '; }
vendor=
grep -qw svm /proc/cpuinfo && vendor=kvm_amd
grep -qw vmx /proc/cpuinfo && vendor=kvm_intel
for m in $(cat /modules/order); do
	case "$m" in kvm_amd|kvm_intel) [ "$m" = "$vendor" ] || continue ;; esac
	insmod /modules/$m.ko $(params $m) > /tmp/insmod.log 2>&1 ||
		say "insmod $m $(params $m): $(cat /tmp/insmod.log)"
done
if [ ! -c /dev/kvm ]; then
	say "VMTEST-NOKVM: no /dev/kvm (CPU flags: $(grep -wo 'svm\|vmx' /proc/cpuinfo | sort -u | tr '\n' ' ')vendor module for them: ${vendor:-none}; modules in the initramfs: $(cat /modules/order | tr '\n' ' '))"
	dmesg | grep -i 'kvm\|svm\|vmx' | tail -20 > /dev/console
	finish 2
fi
backend=$(/suite/kvm-msr-suite/backend.sh)
say "VMTEST-KVM $backend force_emulation_prefix=$(cat /sys/module/kvm/parameters/force_emulation_prefix 2>/dev/null)"

stty -F /dev/ttyS1 115200 raw -echo 2>/dev/null
cd /suite
bash /run-suite > /dev/ttyS1 2> /dev/console
rc=$?
finish $rc
EOF
chmod +x "$root/init"

initrd=$work/initramfs.cpio
(cd "$root" && find . | cpio -o -H newc --quiet) > "$initrd" || die "cpio failed"
say "initramfs $(du -h "$initrd" | cut -f1) ($initrd)"

# --- boot ------------------------------------------------------------------
if [ -z "$timeout_s" ]; then
	per=$(sed -n 's/^timeout=\([0-9]*\).*/\1/p' "$root/suite/kvm-msr-suite/settings" 2>/dev/null)
	n=$(grep -c . "$root/suite/kselftest-list.txt" 2>/dev/null)
	timeout_s=$(( 120 + ${per:-45} * ${n:-1} ))
	# Bochs: ~1 minute to boot, 3-4 minutes for the whole run here; one binary hanging
	# until the runner's timeout still fits.
	[ "$accel" = bochs ] && timeout_s=900
fi
loglevel=4
[ "$verbose" = 1 ] && loglevel=7
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=$loglevel kvm.force_emulation_prefix=1 $append"
if [ "$accel" = bochs ]; then
	. "$SUITE/scripts/vm-bochs.sh"
	cmdline="$BOCHS_CMDLINE ${cmdline#console=ttyS0 }"
fi
console=$work/console.log
: > "$console"

# One QEMU or Bochs at a time per tree (the machine is small; others share it).
exec 9> "$VMDIR/.qemu.lock"
flock -n 9 || { say "waiting for another vmtest run in this tree"; flock 9; }

tail_pid=
if [ "$verbose" = 1 ]; then
	tail -n +1 -f "$console" >&2 &
	tail_pid=$!
fi

start=$(date +%s)
if [ "$accel" = bochs ]; then
	emu=Bochs
	[ "$smp" = 1 ] || say "--smp is ignored under Bochs (one CPU)"
	say "booting $krel: bochs, cpu $cpu, ${mem} MB (timeout ${timeout_s}s)"
	BOCHS_CPU=$cpu BOCHS_MEGS=$mem bochs_boot "$kimage" "$initrd" "$cmdline" "$work" \
		"$timeout_s" "$console" "$work/tap.out"
	qrc=$?
	[ -n "$bochs_why" ] && say "bochs: $bochs_why (log: $work/bochs.log)"
	[ "$qrc" = 2 ] && die "Bochs failed: $bochs_why"
else
	emu=QEMU
	say "booting $krel: qemu -accel $accel -cpu $cpu -smp $smp -m $mem (timeout ${timeout_s}s)"
	# timeout is directly on QEMU, so nothing is left behind when it fires.
	timeout -k 10 "$timeout_s" qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -no-reboot \
		-accel "$accel" -cpu "$cpu" -smp "$smp" -m "$mem" \
		-kernel "$kimage" -initrd "$initrd" -append "$cmdline" \
		-chardev file,id=con,path="$console" -device isa-serial,chardev=con \
		-chardev stdio,id=tap,signal=off -device isa-serial,chardev=tap \
		< /dev/null
	qrc=$?
fi
elapsed=$(( $(date +%s) - start ))
exec 9>&-
[ -n "$tail_pid" ] && { sleep 0.2; kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null; }

status=$(sed -n 's/^vmtest-guest: VMTEST-STATUS \([0-9]*\).*/\1/p' "$console" | tr -d '\r' | tail -1)
show_console() { say "last lines of $console:"; tail -n "${1:-30}" "$console" | tr -d '\r' | sed 's/^/  | /' >&2; }

if [ "$verbose" = 0 ]; then
	# The guest's own messages and the suite's stderr.
	tr -d '\r' < "$console" | grep -v '^vmtest-guest: VMTEST-\(STATUS\|BOOTED\)' |
		grep '^vmtest-guest: \|^run_tests.sh: ' | sed 's/^vmtest-guest: /vmtest: guest: /' >&2
fi
# Kernel warnings during the run are worth knowing about.
tr -d '\r' < "$console" | grep -E '(WARNING|BUG|Oops|general protection|Call Trace)' |
	head -5 | sed 's/^/vmtest: kernel log: /' >&2

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	show_console
	die "$emu did not finish within ${timeout_s}s (killed; --timeout to change)"
fi
if [ ! -s "$console" ]; then
	[ "$accel" = kvm ] && say "with --accel kvm, the host's KVM must run a full x86 guest (QEMU's message above)"
	die "$emu failed (exit $qrc) before the kernel printed anything"
fi
if ! grep -q 'VMTEST-BOOTED' "$console"; then
	show_console 40
	grep -m1 'Kernel panic' "$console" | tr -d '\r' | sed 's/^/vmtest: /' >&2
	die "kernel $krel did not boot to init ($emu exit $qrc after ${elapsed}s); console: $console"
fi
if grep -q 'VMTEST-NOKVM' "$console"; then
	[ -z "$moddir" ] && say "no KVM modules were given: --modules DIR (make modules_install INSTALL_MOD_PATH=DIR), or build KVM in"
	die "kernel $krel booted but provides no /dev/kvm (see above; console: $console)"
fi
[ -n "$status" ] || { show_console; die "the guest stopped before the suite finished ($emu exit $qrc); console: $console"; }
say "done in ${elapsed}s: suite exit status $status ($krel, $(sed -n 's/^vmtest-guest: VMTEST-KVM \([^ ]*\).*/\1/p' "$console" | tr -d '\r'), $([ "$emu" = Bochs ] && echo "bochs $cpu" || echo "accel $accel"))"
exit "$status"
