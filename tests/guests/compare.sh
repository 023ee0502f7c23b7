#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a test guest under QEMU TCG (the reference) and under cove, and fails with a diff unless
# both wrote the same serial bytes and ended the same way.
#
#   compare.sh [--append STR] [--timeout SEC] [--qemu-args "ARGS"] GUEST.elf COVE_BINARY [COVE ARGS...]
#
# "The same way" is the same exit status, with one mapping: QEMU -no-reboot exits with 0 when a
# guest resets or triple-faults, where cove exits with 0 (reset/power-off) or 4 (triple fault).
set -u

here=$(cd "$(dirname "$0")" && pwd)
run="$here/run-guest.sh"

usage() {
	sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

opts=
append=
qemu_args=
while [ $# -gt 0 ]; do
	case "$1" in
	--append) [ $# -ge 2 ] || usage; append=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; opts="$opts --timeout $2"; shift 2 ;;
	--qemu-args) [ $# -ge 2 ] || usage; qemu_args=$2; shift 2 ;;
	-h|--help) usage ;;
	-*) echo "compare.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || usage
guest=$1
shift

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/compare-guest.XXXXXX") || exit 2
trap 'rm -rf "$tmpdir"' EXIT INT TERM

# shellcheck disable=SC2086 # $opts and $qemu_args are word lists on purpose
"$run" $opts ${append:+--append "$append"} --quiet --serial "$tmpdir/qemu.log" "$guest" \
	--qemu $qemu_args >"$tmpdir/qemu.status"
qs=$?
# shellcheck disable=SC2086
"$run" $opts ${append:+--append "$append"} --quiet --serial "$tmpdir/cove.log" "$guest" \
	--cove "$@" >"$tmpdir/cove.status"
cs=$?

ok=1
if ! cmp -s "$tmpdir/qemu.log" "$tmpdir/cove.log"; then
	echo "compare.sh: $guest: serial output differs (- qemu, + cove):"
	diff -u --label qemu "$tmpdir/qemu.log" --label cove "$tmpdir/cove.log"
	ok=0
fi
if [ "$qs" != "$cs" ] && ! { [ "$qs" = 0 ] && [ "$cs" = 4 ]; }; then
	echo "compare.sh: $guest: exit status differs: qemu $qs, cove $cs"
	ok=0
fi
if [ "$qs" = 124 ] || [ "$cs" = 124 ]; then
	echo "compare.sh: $guest: timeout (qemu $qs, cove $cs)"
	ok=0
fi
if [ "$ok" = 1 ]; then
	echo "compare.sh: $guest: identical ($(wc -c <"$tmpdir/qemu.log") bytes, status qemu $qs, cove $cs)"
	exit 0
fi
exit 1
