#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the KVM backend of this machine: the vendor module that provides
# /dev/kvm (kvm_amd, kvm_intel, kvm_pvm, ...), read from /sys/module.
# "none" when KVM is not loaded at all, "unknown" when kvm is loaded but no
# known vendor module is.
set -eu
SYS=${SYSFS_MODULE:-/sys/module}
for m in kvm_pvm kvm_amd kvm_intel; do
	if [ -d "$SYS/$m" ]; then echo "$m"; exit 0; fi
done
if [ -d "$SYS/kvm" ]; then echo unknown; else echo none; fi
