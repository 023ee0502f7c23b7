#!/bin/sh
# SPDX-License-Identifier: MIT
# `cove run --accel auto` (the default) runs a test guest on whatever this host has: without a
# usable /dev/kvm it says once, on stderr, that it uses the soft accelerator, and the guest still
# passes (debug-exit status 33); with /dev/kvm it says nothing and runs on KVM.
#
#   accel-auto.sh COVE_BINARY GUEST.elf
set -u
[ $# -eq 2 ] || { sed -n '3,8p' "$0" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cove-accel-auto.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

"$1" run --kernel "$2" --console "$tmp/serial" </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
fail=0
[ "$st" = 33 ] || { echo "FAIL: exit status $st, want 33 (the guest's PASS)"; fail=1; }
[ "$(tail -n 1 "$tmp/serial")" = PASS ] || { echo "FAIL: the guest did not print PASS"; fail=1; }
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	want=0
else
	want=1
	grep -q '^cove: .*; using the soft accelerator$' "$tmp/err" ||
		{ echo "FAIL: no 'using the soft accelerator' line"; fail=1; }
fi
lines=$(wc -l <"$tmp/err" | tr -d ' ')
[ "$lines" = "$want" ] || { echo "FAIL: $lines stderr line(s), want $want"; fail=1; }
sed 's/^/stderr: /' "$tmp/err"
[ "$fail" = 0 ] && echo "ok: auto ran the guest, $lines line(s) on stderr"
exit "$fail"
