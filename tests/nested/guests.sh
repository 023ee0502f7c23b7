#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The multiboot test guests under cove on real KVM (inside the nested harness) and under QEMU TCG
# on this host: the serial bytes must be identical (compared by sha256, shown as a diff when they
# are not) and so must the exit status. The nested vCPU is QEMU TCG's SVM emulation, so the guests
# get tcg=1: they accept TCG's known departures as they do under QEMU TCG (tests/guests/README.md). The same outer VM also runs the loader stage of
# tests/cli/bad-input.sh, which needs a working accelerator.
#
#   guests.sh COVE_BINARY GUEST.elf...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { sed -n '3,9p' "$0" >&2; exit 2; }
cove=$1
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-nested-guests.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Each guest takes 1-3 s here; a short command limit makes a wedged outer VM (silent past it
# plus 120 s, run.sh) cost 4 minutes instead of 6 before the retry.
args=(--cmd-timeout 120 --cove "$cove" --out "$work/out" --extra "$here/../cli/bad-input.sh")
for g in "$@"; do
	n=$(basename "$g" .elf)
	args+=(--extra "$g" --cmd "$n ./bin/cove run --kernel extra/$n.elf --cmdline tcg=1 --memory 128M --console /tmp/$n.serial </dev/null; st=\$?; echo \"GUEST-STATUS \$st\"; echo \"GUEST-SHA256 \$(sha256sum </tmp/$n.serial | cut -d' ' -f1)\"; cat /tmp/$n.serial")
	sh "$here/../guests/run-guest.sh" --quiet --serial "$work/$n.qemu" "$g" --qemu \
		>"$work/$n.qemu-status" || true
done
args+=(--cmd "bad-input COVE_TEST_KERNEL=vmlinuz sh extra/bad-input.sh --stage loader ./bin/cove")
bash "$here/run.sh" "${args[@]}" || true

fail=0
for g in "$@"; do
	n=$(basename "$g" .elf)
	log=$work/out/cmd/$n.log
	qs=$(sed -n 's/^exit status: \([0-9]*\).*/\1/p' "$work/$n.qemu-status")
	cs=$(sed -n 's/^GUEST-STATUS \([0-9]*\)$/\1/p' "$log" 2>/dev/null || true)
	csum=$(sed -n 's/^GUEST-SHA256 \([0-9a-f]*\)$/\1/p' "$log" 2>/dev/null || true)
	qsum=$(sha256sum <"$work/$n.qemu" | cut -d' ' -f1)
	if [ -z "$cs" ]; then
		echo "FAIL $n: no result from cove in the nested VM"
		tail -n 20 "$log" 2>/dev/null | sed 's/^/    /'
		fail=1
	elif [ "$cs" != "$qs" ] || [ "$csum" != "$qsum" ]; then
		echo "FAIL $n: cove status $cs, serial $csum; qemu status $qs, serial $qsum"
		sed '1,/^GUEST-SHA256/d' "$log" | diff -u --label qemu "$work/$n.qemu" --label cove - | sed 's/^/    /' || true
		fail=1
	else
		echo "ok   $n: status $cs, $(wc -c <"$work/$n.qemu") serial bytes identical to QEMU TCG"
	fi
done
if grep -q '^[0-9]* passed, 0 failed$' "$work/out/cmd/bad-input.log" 2>/dev/null; then
	echo "ok   bad-input (loader stage): $(grep -c '^ok ' "$work/out/cmd/bad-input.log") cases"
else
	echo "FAIL bad-input (loader stage):"
	sed 's/^/    /' "$work/out/cmd/bad-input.log" 2>/dev/null || echo "    no log"
	fail=1
fi
exit $fail
