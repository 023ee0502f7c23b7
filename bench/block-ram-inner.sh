#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/block-ram's runs where bash and GNU time are missing: inside the nested harness, on KVM
# (bench/block-ram --kvm). POSIX sh, busybox. For each run, the three configurations of
# bench/block-ram; prints "result CONFIG SECONDS PEAK_RSS_KIB" per cove run (wall time from
# /proc/uptime) and "stats LINE" with cap8's block counters. Exits 1 if a run did not pass.
#
#   block-ram-inner.sh COVE MEMSWEEP.elf MEM_MIB RUNS BLOCK ACCEL
set -u
[ $# -eq 6 ] || { sed -n '3,8p' "$0" >&2; exit 2; }
cove=$1 elf=$2 mem=$3 runs=$4 block=$5 accel=$6
# tests/guests/peak-rss.sh: beside this script in the nested harness, else where PEAK_RSS_SH says
. "${PEAK_RSS_SH:-$(dirname "$0")/peak-rss.sh}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cove-block-ram.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
r=0
while [ "$r" -lt "$runs" ]; do
	r=$((r + 1))
	for c in cap8 capall anon; do
		rm -f "$tmp/ram.img" # a fresh file each run
		case $c in
		cap8) a="--memory-file $tmp/ram.img --memory-block $block --memory-resident $((mem / 8))M" ;;
		capall) a="--memory-file $tmp/ram.img --memory-block $block" ;;
		anon) a="" ;;
		esac
		t0=$(cut -d ' ' -f 1 /proc/uptime)
		# shellcheck disable=SC2086
		peak_rss_run "$tmp" "$tmp/$c.log" "$cove" run --accel "$accel" --stats \
			--kernel "$elf" --memory "${mem}M" $a
		t1=$(cut -d ' ' -f 1 /proc/uptime)
		grep -qx PASS "$tmp/$c.log" || { echo "FAIL $c run $r (status $st)"; cat "$tmp/$c.log"; exit 1; }
		echo "result $c $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') $rss"
		if [ "$c" = cap8 ]; then sed -n 's/^block-ram: /stats /p' "$tmp/$c.log"; fi
	done
done
