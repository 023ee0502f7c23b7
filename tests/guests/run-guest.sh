#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one test guest under QEMU TCG (the reference) or under cove, prints its serial output and
# its exit status, and optionally checks the outcome.
#
#   run-guest.sh [OPTIONS] GUEST.elf --qemu [QEMU ARGS...]
#   run-guest.sh [OPTIONS] GUEST.elf --cove COVE_BINARY [COVE ARGS...]
#
# Options (before GUEST.elf):
#   --append STR     multiboot command line (QEMU -append, cove --cmdline)
#   --timeout SEC    wall-clock limit (default 120, or $GUEST_TIMEOUT)
#   --serial FILE    keep the serial output in FILE (default: a temporary file)
#   --expect pass    succeed only if the last line is PASS and the status is 33 (debug-exit 0x10)
#   --expect shutdown  succeed only if the guest ended without a debug-exit write (QEMU -no-reboot:
#                    status 0; cove: 0 for power-off/reset, 4 for a triple fault) and printed no FAIL
#   --quiet          do not print the serial output
#
# Output: the serial bytes as the guest wrote them, then one line "exit status: N".
# Without --expect the script exits with the VMM's status (124 on timeout).
set -u

usage() {
	sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

append=
timeout_s=${GUEST_TIMEOUT:-120}
serial=
expect=
quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--append) [ $# -ge 2 ] || usage; append=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	--serial) [ $# -ge 2 ] || usage; serial=$2; shift 2 ;;
	--expect) [ $# -ge 2 ] || usage; expect=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h|--help) usage ;;
	-*) echo "run-guest.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || usage
guest=$1
mode=$2
shift 2
[ -r "$guest" ] || { echo "run-guest.sh: $guest: not readable" >&2; exit 2; }
case "$expect" in ''|pass|shutdown) ;; *) echo "run-guest.sh: --expect pass|shutdown" >&2; exit 2 ;; esac

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/run-guest.XXXXXX") || exit 2
trap 'rm -rf "$tmpdir"' EXIT INT TERM
[ -n "$serial" ] || serial=$tmpdir/serial.log
: >"$serial" || exit 2

case "$mode" in
--qemu)
	qemu=${QEMU:-qemu-system-x86_64}
	set -- "$qemu" -accel tcg -M pc -m 128M -display none -no-reboot -monitor none \
		-serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$guest" ${append:+-append "$append"} "$@"
	;;
--cove)
	[ $# -ge 1 ] || usage
	cove=$1
	shift
	set -- "$cove" run --kernel "$guest" --memory 128M --console "$serial" \
		${append:+--cmdline "$append"} "$@"
	;;
*)
	usage
	;;
esac

timeout -k 5 "$timeout_s" "$@" </dev/null
status=$?

[ "$quiet" = 1 ] || cat "$serial"
if [ "$status" = 124 ]; then
	echo "exit status: $status (timeout after ${timeout_s}s)"
else
	echo "exit status: $status"
fi

case "$expect" in
'')
	exit "$status"
	;;
pass)
	last=$(tail -n 1 "$serial")
	if [ "$status" = 33 ] && [ "$last" = PASS ]; then
		exit 0
	fi
	echo "run-guest.sh: $guest: expected PASS and status 33" >&2
	exit 1
	;;
shutdown)
	if grep -q FAIL "$serial"; then
		echo "run-guest.sh: $guest: the guest reported a failure" >&2
		exit 1
	fi
	if { [ "$mode" = --qemu ] && [ "$status" = 0 ]; } ||
		{ [ "$mode" = --cove ] && { [ "$status" = 0 ] || [ "$status" = 4 ]; }; }; then
		exit 0
	fi
	echo "run-guest.sh: $guest: expected a shutdown without debug-exit" >&2
	exit 1
	;;
esac
