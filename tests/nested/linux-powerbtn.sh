#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The monitor's powerdown reaches a Linux guest: cove on real KVM (inside the nested harness) boots
# Debian's kernel with a small initramfs that loads button.ko and evdev.ko, finds the input device
# Linux made for the FADT's fixed-feature power button, and waits for one event on it. The test
# sends "powerdown" to cove's monitor; the guest must report the event and power off (cove: 0).
# This is the path of "virsh shutdown": PM1_STS.PWRBTN_STS -> SCI (IRQ 9) -> ACPI -> input event.
#
#   linux-powerbtn.sh COVE_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { sed -n '3,10p' "$0" >&2; exit 2; }
socat=$(command -v socat) || { echo "linux-powerbtn.sh: socat is missing (scripts/deps.sh)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-nested-powerbtn.XXXXXX")
trap 'rm -rf "$work"' EXIT
eval "$("$repo/scripts/fetch-kernel.sh" --quiet)"

# ---- the inner guest's initramfs ----
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for a in sh mount insmod cat grep sleep poweroff dd basename; do ln -s busybox "$root/bin/$a"; done
cp "$COVE_MODULES_DIR/kernel/drivers/input/evdev.ko" "$COVE_MODULES_DIR/kernel/drivers/acpi/button.ko" \
	"$root/lib/modules/"
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /lib/modules/evdev.ko
insmod /lib/modules/button.ko
ev=
for n in /sys/class/input/event*/device/name; do
	[ "$(cat "$n" 2>/dev/null)" = "Power Button" ] && ev=${n%/device/name}
done
if [ -z "$ev" ]; then
	echo "POWERBTN-LINUX-ERROR: no Power Button input device"
	poweroff -f
fi
echo "POWERBTN-LINUX-READY $(basename "$ev")"
dd if="/dev/input/$(basename "$ev")" of=/dev/null bs=24 count=1 2>/dev/null
echo POWERBTN-LINUX-PRESSED
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/powerbtn-linux.cpio.gz"

# ---- inside the outer VM (busybox sh) ----
cat >"$work/powerbtn-linux-run.sh" <<'RUN'
#!/bin/sh
PATH=/cove/extra:$PATH
./bin/cove run --kernel vmlinuz --initrd extra/powerbtn-linux.cpio.gz --memory 256M \
	--cmdline "console=ttyS0 quiet" --console /tmp/pl.serial --monitor /tmp/pl.mon </dev/null &
pid=$!
i=0
until grep -q '^POWERBTN-LINUX-' /tmp/pl.serial 2>/dev/null || [ "$i" -ge 600 ]; do
	sleep 0.5
	i=$((i + 1))
done
echo "MONITOR-REPLY $(echo powerdown | socat -t 10 - UNIX-CONNECT:/tmp/pl.mon)"
wait "$pid"
echo "COVE-STATUS $?"
cat /tmp/pl.serial
RUN

rc=0
bash "$here/run.sh" --cmd-timeout 400 --cove "$1" --out "$work/out" --extra "$socat" \
	--extra "$work/powerbtn-linux.cpio.gz" --extra "$work/powerbtn-linux-run.sh" \
	--cmd 'powerbtn sh extra/powerbtn-linux-run.sh' || rc=1
log=$work/out/cmd/powerbtn.log
grep -v '^\[' "$log" 2>/dev/null || { echo "FAIL: no log from the nested VM"; exit 1; }
fail=0
check() { # WHAT PATTERN
	if grep -q -- "$2" "$log"; then echo "ok   $1"; else echo "FAIL $1: no '$2'"; fail=1; fi
}
check "Linux made an input device for the fixed power button" '^POWERBTN-LINUX-READY event'
check "the monitor answered powerdown" '^MONITOR-REPLY ok$'
check "the guest got the power button event" '^POWERBTN-LINUX-PRESSED'
check "cove exited 0 after the guest powered off" '^COVE-STATUS 0$'
[ "$rc" = 0 ] || fail=1
exit "$fail"
