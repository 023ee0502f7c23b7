#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the Linux memory-sweep guest (blockram.sh): laid over the test initramfs, it fills
# most of a 1 GiB guest's RAM through a tmpfs (a 64 MiB random file and eight copies of it),
# compares every copy with busybox cmp, prints the result and powers off.
. /etc/init-common.sh
echo COVE-SWEEP-START
echo "memtotal-kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
mkdir -p /sweep
mount -t tmpfs -o size=800m tmpfs /sweep || echo COVE-SWEEP-ERROR: mount
dd if=/dev/urandom of=/sweep/ref bs=1M count=64 2>/dev/null || echo COVE-SWEEP-ERROR: dd ref
n=0
while [ "$n" -lt 8 ]; do
	dd if=/sweep/ref of="/sweep/c$n" bs=1M 2>/dev/null || echo "COVE-SWEEP-ERROR: dd c$n"
	n=$((n + 1))
done
bad=0
n=0
while [ "$n" -lt 8 ]; do
	cmp -s /sweep/ref "/sweep/c$n" || bad=$((bad + 1))
	n=$((n + 1))
done
echo "sweep-mib=$(du -sm /sweep | cut -f1) bad-copies=$bad"
[ "$bad" = 0 ] && echo COVE-SWEEP-OK
sync
poweroff -f
echo "COVE-SWEEP-ERROR: poweroff -f returned"
