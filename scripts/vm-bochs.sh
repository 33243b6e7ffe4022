# SPDX-License-Identifier: GPL-2.0
#
# Booting a kernel under Bochs, for scripts/vmtest.sh --emulator bochs
# (sourced by it: functions only).  Bochs emulates VMX, so the guest kernel
# gets kvm_intel where QEMU's TCG only offers SVM (kvm_amd).
#
#   bochs_boot KIMAGE INITRD CMDLINE WORKDIR TIMEOUT CONSOLE TAP
#
# Bochs cannot load a kernel itself: KIMAGE, INITRD and a syslinux.cfg
# with CMDLINE go on a FAT "superfloppy" (a whole disk without partition
# table, made by mkfs.vfat -C and syslinux --install, filled by mcopy: no
# loop mount, no root) that the BIOS boots as the first ATA disk.  The
# guest's ttyS0 goes to the file CONSOLE, its ttyS1 to TAP, which is copied
# to stdout as it grows.
#
# Bounds.  bochs-bin runs under timeout(1) (TIMEOUT seconds; the Debian
# binary starts in its debugger, so it is fed the command file "c" and
# stdin /dev/null).  Bochs' exit status says nothing: a guest poweroff
# (ACPI soft off) is a "panic" and exits 1.  A watcher reads CONSOLE and
# ends Bochs itself when the guest has printed VMTEST-STATUS (the suite is
# done; BOCHS_GRACE seconds for the poweroff), when the kernel panics or
# the machine reboots (panic=-1: the BIOS would boot it again, forever),
# and when the kernel has not reached init after BOCHS_BOOT_TIMEOUT
# seconds.  Inside the guest, time is Bochs' virtual time (instructions at
# the configured ips): the suite's own timeouts count it.
#
# Returns 0 when the guest printed VMTEST-STATUS, 124 when TIMEOUT (or the
# boot deadline) expired, 3 after a panic or reboot, 2 when Bochs could not
# be started; the reason is in $bochs_why.

BOCHS_CPU=${BOCHS_CPU:-corei7_skylake_x}
BOCHS_IPS=${BOCHS_IPS:-50000000}
BOCHS_GRACE=${BOCHS_GRACE:-30}
BOCHS_BOOT_TIMEOUT=${BOCHS_BOOT_TIMEOUT:-300}
BOCHS_BIOS=${BOCHS_BIOS:-/usr/share/bochs/BIOS-bochs-latest}
BOCHS_VGABIOS=${BOCHS_VGABIOS:-/usr/share/bochs/VGABIOS-lgpl-latest}

# The kernel command line Bochs needs on top of vmtest's: a serial console
# at 115200 (Bochs times serial output), no KASLR or mitigations (slow to
# emulate), no crypto self-tests, no memory zeroing; and a TSC whose rate
# the kernel measures against the emulated HPET: the CPU model reports
# 3.5 GHz in CPUID, but Bochs' TSC advances once per instruction, so the
# guest's clock would run ~50x slow and every timeout inside it with it.
BOCHS_CMDLINE="console=ttyS0,115200 mitigations=off cryptomgr.notests init_on_alloc=0 nokaslr tsc_early_khz=$((BOCHS_IPS / 1000))"

bochs_why=

# bochs_disk IMG KIMAGE INITRD CMDLINE: the boot disk; prints its cylinders.
bochs_disk() {
	local img=$1 kimage=$2 initrd=$3 cmdline=$4 kb cyl cfg
	# Whole cylinders of 16 heads x 63 sectors (504 KiB), 10% + 4 MiB spare.
	kb=$(( ($(stat -c %s "$kimage") + $(stat -c %s "$initrd")) * 11 / 10240 + 4096 ))
	cyl=$(( (kb + 503) / 504 ))
	rm -f "$img"
	mkfs.vfat -C -g 16/63 -n KVMMSR "$img" $((cyl * 504)) > /dev/null || return 1
	syslinux --install "$img" || return 1
	cfg=${img%/*}/syslinux.cfg
	printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd\n  APPEND %s\n' \
		"$cmdline" > "$cfg"
	mcopy -i "$img" "$kimage" ::vmlinuz && mcopy -i "$img" "$initrd" ::initrd &&
		mcopy -i "$img" "$cfg" ::syslinux.cfg || return 1
	echo "$cyl"
}

# bochs_watch CONSOLE PID: end Bochs (timeout's PID) when the run is over.
bochs_watch() {
	local console=$1 pid=$2 t=0 done_at=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1; t=$((t + 1))
		if [ -z "$done_at" ] && grep -q 'VMTEST-STATUS' "$console" 2>/dev/null; then
			done_at=$t
		fi
		if [ -n "$done_at" ] && [ $((t - done_at)) -ge "$BOCHS_GRACE" ]; then
			echo "the guest did not power off within ${BOCHS_GRACE}s after the suite" > "$console.why"
		elif grep -q 'Kernel panic' "$console" 2>/dev/null; then
			echo "the guest kernel panicked" > "$console.why"
		elif [ "$(grep -c 'VMTEST-BOOTED' "$console" 2>/dev/null)" -gt 1 ]; then
			echo "the guest rebooted" > "$console.why"
		elif [ $t -ge "$BOCHS_BOOT_TIMEOUT" ] && ! grep -q 'VMTEST-BOOTED' "$console" 2>/dev/null; then
			echo "the kernel did not reach init within ${BOCHS_BOOT_TIMEOUT}s (BOCHS_BOOT_TIMEOUT)" > "$console.why"
		else
			continue
		fi
		kill -TERM "$pid" 2>/dev/null
		return
	done
}

bochs_boot() {
	local kimage=$1 initrd=$2 cmdline=$3 work=$4 timeout_s=$5 console=$6 tap=$7
	local cyl rc tail_pid watch_pid bpid
	bochs_why=
	cyl=$(bochs_disk "$work/disk.img" "$kimage" "$initrd" "$cmdline") ||
		{ bochs_why="could not make the boot disk $work/disk.img (mkfs.vfat, syslinux, mcopy)"; return 2; }
	cat > "$work/bochsrc" <<-EOF
	# scripts/vm-bochs.sh
	megs: ${BOCHS_MEGS:-1024}
	cpu: model=$BOCHS_CPU, count=1, ips=$BOCHS_IPS, ignore_bad_msrs=1
	romimage: file=$BOCHS_BIOS
	vgaromimage: file=$BOCHS_VGABIOS
	display_library: rfb, options="timeout=0"
	ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
	ata0-master: type=disk, path=$work/disk.img, mode=flat, cylinders=$cyl, heads=16, spt=63
	boot: disk
	com1: enabled=1, mode=file, dev=$console
	com2: enabled=1, mode=file, dev=$tap
	clock: sync=none, time0=local
	sound: driver=dummy
	speaker: enabled=0
	mouse: enabled=0
	log: $work/bochs.log
	error: action=ignore
	info: action=ignore
	debug: action=ignore
	panic: action=fatal
	EOF
	echo c > "$work/bochs.cmds"
	: > "$console"; : > "$tap"; rm -f "$console.why"
	# The rfb display (the only one compiled in besides wx) listens on a
	# local port from 5900 on; nothing connects to it.
	timeout -k 10 "$timeout_s" bochs-bin -q -f "$work/bochsrc" -rc "$work/bochs.cmds" \
		< /dev/null > "$work/bochs.out" 2>&1 &
	bpid=$!
	tail -c +1 -f --pid="$bpid" "$tap" &
	tail_pid=$!
	bochs_watch "$console" "$bpid" &
	watch_pid=$!
	wait "$bpid"
	rc=$?
	wait "$tail_pid" 2>/dev/null
	kill "$watch_pid" 2>/dev/null; wait "$watch_pid" 2>/dev/null
	if [ -s "$console.why" ]; then
		bochs_why=$(cat "$console.why")
		grep -q 'did not reach init' "$console.why" && return 124
		grep -q 'did not power off' "$console.why" || return 3
	fi
	grep -q 'VMTEST-STATUS' "$console" && return 0
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		bochs_why="Bochs did not finish within ${timeout_s}s (killed)"
		return 124
	fi
	if [ ! -s "$console" ]; then
		bochs_why="Bochs exited ($rc) before the guest printed anything: $(grep -v '^ALSA\|^[0-9]*i\[' "$work/bochs.out" | tail -3 | tr '\n' ' ')"
		return 2
	fi
	bochs_why="Bochs exited ($rc) before the suite finished"
	return 3
}
