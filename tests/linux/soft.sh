#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cove's soft accelerator boots Debian's kernel ($COVE_VMLINUZ) with the test initramfs, two vCPUs
# and a random virtio-blk disk: the guest prints its marker, the disk's sha256 (compared with the
# host's) and nproc=2, then powers off; cove must exit 0. The --stats counters are printed.
#
#   soft.sh COVE_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { sed -n '3,7p' "$0" >&2; exit 2; }
cove=$1
[ -n "${COVE_VMLINUZ:-}" ] && [ -f "$COVE_VMLINUZ" ] ||
	{ echo "FAIL: COVE_VMLINUZ does not name a kernel (scripts/test.sh sets it)"; exit 1; }
. "$here/checks.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-soft-linux.XXXXXX")
trap 'rm -rf "$work"' EXIT

bash "$here/../../scripts/mkinitramfs.sh" test "$work/test.cpio.gz" >/dev/null
head -c 3M /dev/urandom >"$work/disk.img"
want=$(sha256sum "$work/disk.img" | cut -d' ' -f1)
status=0
timeout -k 10 900 "$cove" run --accel soft --kernel "$COVE_VMLINUZ" --initrd "$work/test.cpio.gz" \
	--cpus 2 --memory 256M --disk "$work/disk.img,readonly" --stats </dev/null >"$work/raw" 2>&1 ||
	status=$?
tr -d '\r' <"$work/raw" >"$work/log" # the serial console ends lines with CR LF
grep -v '^\[' "$work/log" || true
fail=0
linux_checks "$work/log" "$want" 2 || fail=1
if [ "$status" = 0 ]; then
	echo "ok   exit status 0"
else
	echo "FAIL exit status $status, want 0"
	tail -n 30 "$work/log"
	fail=1
fi
exit $fail
