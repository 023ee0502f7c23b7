# SPDX-License-Identifier: MIT
# Sourced (POSIX sh; busybox in the nested harness): peak_rss_run DIR LOG CMD ARGS... runs CMD
# with stdout and stderr in LOG and stdin from /dev/null, and leaves its exit status in $st and its
# peak RSS in KiB in $rss. The RSS is GNU time's "maximum resident set size" where /usr/bin/time
# is GNU time, else (or with RSS_POLL=1) VmHWM polled from /proc every 0.1 s. DIR holds scratch
# files. Used by memsweep-blockram.sh and bench/block-ram.
peak_rss_run() {
	_dir=$1
	_log=$2
	shift 2
	# GNU time only: busybox has a /usr/bin/time without -f
	if [ -z "${RSS_POLL:-}" ] && /usr/bin/time --version 2>&1 | grep -q GNU; then
		/usr/bin/time -f %M -o "$_dir/rss" "$@" >"$_log" 2>&1 </dev/null
		st=$?
		rss=$(tail -n 1 "$_dir/rss")
		return
	fi
	# exec: $! is the command itself, not a shell that forked it
	(exec "$@" >"$_log" 2>&1 </dev/null) &
	_pid=$!
	rss=0
	while kill -0 "$_pid" 2>/dev/null; do
		cat "/proc/$_pid/status" >"$_dir/status.new" 2>/dev/null && [ -s "$_dir/status.new" ] &&
			mv "$_dir/status.new" "$_dir/status"
		_h=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "$_dir/status" 2>/dev/null)
		[ -n "$_h" ] && rss=$_h
		sleep 0.1
	done
	wait "$_pid"
	st=$?
}
