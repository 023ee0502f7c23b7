#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cove on real KVM (inside the nested harness) boots Debian's kernel with the test initramfs:
# the guest prints its marker, the sha256 of a virtio-blk disk (compared with the host's), and
# nproc (2, with --cpus 2), then powers off; cove must exit 0.
#
#   linux.sh COVE_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { sed -n '3,8p' "$0" >&2; exit 2; }
cove=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-nested-linux.XXXXXX")
trap 'rm -rf "$work"' EXIT

head -c 3M /dev/urandom >"$work/disk.img"
want=$(sha256sum "$work/disk.img" | cut -d' ' -f1)
bash "$here/run.sh" --cmd-timeout 240 --cove "$cove" --out "$work/out" --disk "$work/disk.img" --cmd \
	'linux ./bin/cove run --kernel vmlinuz --initrd test.cpio.gz --cpus 2 --memory 256M --disk disk.img,readonly' ||
	{ tail -n 40 "$work/out/cmd/linux.log" 2>/dev/null; exit 1; }
log=$work/out/cmd/linux.log
grep -v '^\[' "$log"

. "$here/../linux/checks.sh"
fail=0
linux_checks "$log" "$want" 2 || fail=1
# run.sh already failed the run unless cove exited 0
exit $fail
