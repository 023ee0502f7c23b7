#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Block RAM on real KVM (inside the nested harness), in one outer VM (meson test nested-blockram).
# By hand:
#   bash tests/nested/blockram.sh [--memsweep-only] build/src/cove build/tests/guests/memsweep.elf
#
#   memsweep: tests/guests/memsweep-blockram.sh on KVM (1 GiB in a --memory-file under a 64 MiB
#             cap: peak RSS in copy-in mode; ulimit -v below the guest's RAM, where cove falls
#             back to window mode (memsweep runs with paging off, so cove's walks know every
#             block the CPU reads by itself); the data left in the file);
#   linux:    Debian's kernel with 1 GiB of RAM under a 128 MiB cap (copy-in) runs a memory
#             sweep (dd of eight 64 MiB copies through a tmpfs, cmp of each: sweep-init.sh) and
#             powers off; cove must exit 0. --memsweep-only skips it.
#
# The outer VM has one vCPU: with two, its kernel panicked in two of five runs ("corrupted stack end
# detected inside scheduler" in a cove thread; a third stopped alike, unlogged), in copy-in and
# window mode alike; with one, none so far.
#
#   blockram.sh [--memsweep-only] COVE_BINARY MEMSWEEP.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
linux_too=1
[ "${1:-}" = --memsweep-only ] && { linux_too=0; shift; }
[ $# -eq 2 ] || { sed -n '3,19p' "$0" >&2; exit 2; }
cove=$1
elf=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-nested-blockram.XXXXXX")
trap 'rm -rf "$work"' EXIT

cp "$here/sweep-init.sh" "$work/init"
chmod +x "$work/init"
bash "$here/../../scripts/mkinitramfs.sh" overlay "$work/sweep-overlay.cpio.gz" \
	--file "$work/init:/init" >/dev/null
linux='cat test.cpio.gz extra/sweep-overlay.cpio.gz >/tmp/sweep.cpio.gz &&'
linux+=' ./bin/cove run --accel kvm --stats --kernel vmlinuz --initrd /tmp/sweep.cpio.gz'
linux+=' --memory 1G --memory-file /tmp/linux-ram.img --memory-resident 128M; st=$?;'
linux+=' rm -f /tmp/linux-ram.img /tmp/sweep.cpio.gz; exit $st'
linux_cmd=()
[ "$linux_too" = 1 ] && linux_cmd=(--cmd "linux $linux")
bash "$here/run.sh" --smp 1 --cmd-timeout 600 --cove "$cove" --out "$work/out" \
	--extra "$here/../guests/memsweep-blockram.sh" --extra "$here/../guests/peak-rss.sh" \
	--extra "$elf" \
	--extra "$work/sweep-overlay.cpio.gz" \
	--cmd "memsweep sh extra/memsweep-blockram.sh ./bin/cove extra/$(basename "$elf") --accel kvm" \
	"${linux_cmd[@]}" || true

fail=0
ms=$work/out/cmd/memsweep.log
# KVM uses copy-in where it can (block_ram.h)
if [ -f "$ms" ] && ! grep -q '^FAIL' "$ms" && [ "$(grep -c '^ok ' "$ms")" = 3 ] &&
	grep -q '^ok   cap: .*(copy-in mode)' "$ms"; then
	sed 's/^/memsweep: /' "$ms"
else
	echo "FAIL memsweep on KVM:"
	sed 's/^/    /' "$ms" 2>/dev/null || echo "    no log"
	fail=1
fi
lx=$work/out/cmd/linux.log
if [ "$linux_too" = 0 ]; then
	:
elif grep -qx COVE-SWEEP-OK "$lx" 2>/dev/null && grep -q '^NESTED-RESULT linux 0$' "$work/out/serial.txt" 2>/dev/null; then
	echo "ok   linux: $(grep '^sweep-mib=' "$lx"), $(grep '^memtotal-kib=' "$lx"), powered off, status 0"
	grep '^block-ram:' "$lx" | sed 's/^/     /'
else
	echo "FAIL linux sweep on KVM (1G, --memory-resident 128M):"
	grep -v '^\[' "$lx" 2>/dev/null | tail -n 30 | sed 's/^/    /' || echo "    no log"
	fail=1
fi
if [ "$fail" = 1 ]; then
	echo "outer console, last lines:"
	grep -v '^NESTED-' "$work/out/serial.txt" 2>/dev/null | tail -n 25 | sed 's/^/    | /' || echo "    none"
fi
exit $fail
