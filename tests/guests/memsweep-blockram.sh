#!/bin/sh
# SPDX-License-Identifier: MIT
# memsweep over block RAM: a 1 GiB guest in a --memory-file with a 64 MiB resident cap writes and
# checks every page. Checks, one line each:
#   cap:      it passes, the counters show blocks were released, and cove's peak RSS stays within
#             the cap plus OVERHEAD_MIB (default 40: cove itself, its libraries and the soft CPU's
#             caches take about 6 MiB; the rest is slack for allocator and kernel accounting);
#   ulimit:   it passes again with `ulimit -v` below the guest's RAM (768 MiB), where the same
#             guest in anonymous RAM cannot start. On KVM (an argument `kvm`), which needs all of
#             the RAM in cove's address space (block_ram.h, copy-in mode), cove must refuse that
#             with its one-line reason instead, and exit 2;
#   file:     the RAM stayed in the file after the clean exit (the page at 512 MiB holds its own
#             address, as memsweep left it).
# Peak RSS: peak-rss.sh (GNU time, else VmHWM polled from /proc: busybox in the nested harness).
#
#   memsweep-blockram.sh COVE MEMSWEEP.elf [COVE ARGS...]     e.g. --accel soft
# POSIX sh: the nested harness runs it under busybox.
set -u
[ $# -ge 2 ] || { sed -n '3,16p' "$0" >&2; exit 2; }
cove=$1
elf=$2
shift 2
overhead=${OVERHEAD_MIB:-40}
cap_mib=64
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cove-memsweep.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
ram=$tmp/ram.img
fail=0
on_kvm=0
case " $* " in *" kvm "* | *" --accel=kvm "*) on_kvm=1 ;; esac

. "$(dirname "$0")/peak-rss.sh"
# run LOG ARGS...: runs cove, leaves its status in $st and its peak RSS (KiB) in $rss
run() {
	log=$1
	shift
	peak_rss_run "$tmp" "$log" "$cove" run "$@"
}

sweep="--kernel $elf --memory 1G --memory-file $ram --memory-resident ${cap_mib}M --cmdline min_mib=1024"
# shellcheck disable=SC2086
run "$tmp/cap.log" $sweep --stats "$@"
releases=$(sed -n 's/.*releases \([0-9]*\),.*/\1/p' "$tmp/cap.log")
mode=$(sed -n 's/^block-ram: \([a-z-]*\),.*/\1/p' "$tmp/cap.log")
limit=$(((cap_mib + overhead) * 1024))
if [ "$st" = 33 ] && grep -qx PASS "$tmp/cap.log" && [ "${releases:-0}" -gt 0 ] &&
	[ "$rss" -gt 0 ] && [ "$rss" -le "$limit" ]; then
	echo "ok   cap: 1 GiB swept ($mode mode), peak RSS $((rss / 1024)) MiB <= ${cap_mib} MiB cap + ${overhead} MiB, $releases releases"
else
	echo "FAIL cap: status $st (want 33), peak RSS ${rss} KiB (limit $limit), releases ${releases:-none}"
	sed 's/^/    /' "$tmp/cap.log"
	grep -E '^(Vm|Rss|Threads)' "$tmp/status" 2>/dev/null | sed 's/^/    last status: /'
	fail=1
fi

(
	ulimit -v $((768 * 1024)) || exit 3
	# shellcheck disable=SC2086
	run "$tmp/ulimit.log" $sweep "$@"
	if [ "$on_kvm" = 1 ]; then
		[ "$st" = 2 ] && [ "$(wc -l <"$tmp/ulimit.log")" = 1 ] &&
			grep -q 'KVM needs all of the guest RAM' "$tmp/ulimit.log" || exit 4
	else
		[ "$st" = 33 ] && grep -qx PASS "$tmp/ulimit.log" || exit 1
	fi
	"$cove" run --kernel "$elf" --memory 1G "$@" >"$tmp/anon.log" 2>&1 </dev/null
	[ $? = 2 ] || exit 2
)
case $? in
0) if [ "$on_kvm" = 1 ]; then
	echo "ok   ulimit: on KVM refused under ulimit -v 768M, in one line: $(cat "$tmp/ulimit.log")"
   else
	echo "ok   ulimit: passes under ulimit -v 768M, where anonymous 1 GiB RAM cannot start ($(cat "$tmp/anon.log"))"
   fi ;;
4) echo "FAIL ulimit: on KVM, cove did not refuse block RAM beyond its address space in one line with status 2 (status $st)"; sed 's/^/    /' "$tmp/ulimit.log"; fail=1 ;;
1) echo "FAIL ulimit: block RAM did not pass under ulimit -v 768M"; sed 's/^/    /' "$tmp/ulimit.log"; fail=1 ;;
2) echo "FAIL ulimit: anonymous 1 GiB RAM was not refused, so the limit proves nothing"; fail=1 ;;
*) echo "FAIL ulimit: cannot set ulimit -v"; fail=1 ;;
esac

size=$(wc -c <"$ram" | tr -d ' ')
word=$(od -A n -t x4 -j $((512 << 20)) -N 4 "$ram" | tr -d ' ')
if [ "$size" = $((1 << 30)) ] && [ "$word" = 20000000 ]; then
	echo "ok   file: $size bytes, the guest's RAM content is still in it"
else
	echo "FAIL file: $size bytes (want $((1 << 30))), word at 512 MiB '$word' (want 20000000)"
	fail=1
fi
exit $fail
