#!/bin/sh
# SPDX-License-Identifier: MIT
# The control plane coved drives (cove(1): --console unix:, --monitor, --pidfile), end to end with
# the powerbtn guest and real sockets (socat as the client):
#   run 1: console ticks reach the first client; a second console client is closed at once while
#          the first keeps its output; status/pause/resume (no console bytes while paused);
#          malformed, over-long and half-sent monitor lines get "error:" and the monitor goes on;
#          powerdown lets the guest power off: exit 0, sockets and pidfile gone.
#   run 2: a stale socket file is replaced, --virtio-console unix: is a socket too, quit while
#          paused ends cove with status 0 and removes its files.
#   run 3: SIGTERM ends cove with 143 and removes its files.
# Waits have generous safety limits only; nothing here measures speed. POSIX sh on purpose: the
# nested-KVM harness runs it under busybox with --accel kvm (tests/nested/monitor.sh).
#
#   monitor.sh [--accel NAME] COVE_BINARY POWERBTN.elf
set -u
accel=soft
if [ $# -gt 2 ] && [ "$1" = --accel ]; then
	accel=$2
	shift 2
fi
[ $# -eq 2 ] || { sed -n '3,15p' "$0" >&2; exit 2; }
cove=$1
guest=$2
command -v socat >/dev/null || { echo "monitor.sh: socat is missing (scripts/deps.sh)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cove-monitor.XXXXXX") || exit 2
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# wait_until SECONDS CMD...: polls CMD every 0.1 s; false when the safety limit passes.
wait_until() {
	left=$(($1 * 10))
	shift
	while [ "$left" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		left=$((left - 1))
	done
	return 1
}

# reap PID: waits for cove (killed after a safety limit of 120 s); its exit status goes to $st.
reap() {
	(sleep 120; kill -KILL "$1") </dev/null >/dev/null 2>&1 &
	dog=$!
	wait "$1"
	st=$?
	kill "$dog" 2>/dev/null
}

# mon LINES...: sends each line to the monitor over one connection, prints the replies.
mon() {
	printf '%s\n' "$@" | socat -t 10 - "UNIX-CONNECT:$tmp/M"
}
expect_reply() {
	name=$1
	want=$2
	shift 2
	got=$(mon "$@")
	if [ "$got" = "$want" ]; then ok "$name: $(echo "$got" | tr '\n' '|')"; else bad "$name: got '$got', want '$want'"; fi
}

# last_tick FILE: N of the last complete "tick N" line. A line still being written is left out:
# cut short after "tick " (a pause can freeze the guest there) it read as no number, and no later
# tick compared greater than that.
last_tick() {
	[ -f "$1" ] || return 0
	head -n "$(($(wc -l <"$1")))" "$1" | grep -o "tick [0-9][0-9]*" | tail -n 1 | cut -d' ' -f2
}
has_tick_after() { tk=$(last_tick "$1"); [ -n "$tk" ] && [ "$tk" -gt "$2" ]; }
is_socket_0600() { [ -S "$1" ] && [ "$(stat -c %a "$1")" = 600 ]; }

# ---- run 1 ----
"$cove" run --accel "$accel" --kernel "$guest" --console "unix:$tmp/S" --monitor "$tmp/M" \
	--pidfile "$tmp/P" </dev/null >"$tmp/out1" 2>"$tmp/err1" &
cpid=$!
pids="$pids $cpid"
wait_until 60 test -s "$tmp/P" || { bad "no pidfile"; exit 1; }
[ "$(cat "$tmp/P")" = "$cpid" ] && ok "pidfile holds cove's pid" || bad "pidfile: '$(cat "$tmp/P")', want $cpid"
is_socket_0600 "$tmp/S" && is_socket_0600 "$tmp/M" && ok "console and monitor are sockets, mode 0600" ||
	bad "sockets: $(ls -l "$tmp")"

socat -u "UNIX-CONNECT:$tmp/S" "OPEN:$tmp/con1,creat,append" &
pids="$pids $!"
wait_until 60 has_tick_after "$tmp/con1" 0 && ok "first console client gets ticks" || bad "no ticks on the console"

# a second client while the first is connected: closed at once, no output
timeout 20 socat -u "UNIX-CONNECT:$tmp/S" "OPEN:$tmp/con2,creat" </dev/null
st=$?
[ "$st" = 0 ] && [ ! -s "$tmp/con2" ] && ok "second console client closed at once" ||
	bad "second console client: status $st, $(wc -c <"$tmp/con2") bytes"
t=$(last_tick "$tmp/con1")
wait_until 60 has_tick_after "$tmp/con1" "$t" && ok "first client still gets ticks" ||
	bad "the first client lost its output"

expect_reply "status" running status
expect_reply "pause" ok pause
expect_reply "pause again" ok pause
expect_reply "status paused" paused status
sleep 0.3 # bytes already in the sockets reach the file
before=$(wc -c <"$tmp/con1")
sleep 1
after=$(wc -c <"$tmp/con1")
[ "$before" = "$after" ] && ok "no console bytes while paused" || bad "console grew from $before to $after bytes while paused"
t=$(last_tick "$tmp/con1")
expect_reply "resume" ok resume
expect_reply "resume again" ok resume
expect_reply "status running" running status
wait_until 60 has_tick_after "$tmp/con1" "$t" && ok "ticks again after resume" || bad "no ticks after resume"

long=$(head -c 300 /dev/zero | tr '\0' a)
got=$(mon "bogus" "$long" "" "status")
if [ "$(echo "$got" | grep -c '^error: ')" = 3 ] && [ "$(echo "$got" | sed -n 4p)" = running ] &&
	echo "$got" | grep -q '^error: line longer than 256 bytes$'; then
	ok "garbage, a 300-byte and an empty line get error:, the monitor goes on"
else
	bad "bad lines: got '$got'"
fi
got=$(head -c 2000 /dev/urandom | tr '\n' 'x' | { cat; printf '\nstatus\n'; } |
	socat -t 10 - "UNIX-CONNECT:$tmp/M")
[ "$(echo "$got" | tail -n 1)" = running ] && [ "$(echo "$got" | wc -l)" = 2 ] &&
	ok "2000 random bytes: one error, then status answers" || bad "random bytes: got '$got'"
printf 'sta' | socat -t 1 - "UNIX-CONNECT:$tmp/M" >/dev/null # gone mid-line
expect_reply "after a client left mid-line" running status

expect_reply "powerdown" ok powerdown
reap "$cpid"
[ "$st" = 0 ] && ok "powerdown: exit status 0" || bad "powerdown: exit status $st: $(cat "$tmp/err1")"
wait_until 10 grep -q 'powerbtn: power button, powering off' "$tmp/con1" &&
	ok "the guest saw the power button" || bad "no power button line on the console"
[ ! -e "$tmp/S" ] && [ ! -e "$tmp/M" ] && [ ! -e "$tmp/P" ] && ok "sockets and pidfile removed" ||
	bad "left behind: $(ls "$tmp")"
[ ! -s "$tmp/err1" ] || bad "stderr: $(cat "$tmp/err1")"

# ---- run 2 ----
# a listener killed by SIGKILL leaves its socket file behind
socat "UNIX-LISTEN:$tmp/S" - </dev/null >/dev/null 2>&1 &
stale=$!
wait_until 30 test -S "$tmp/S"
kill -KILL "$stale"
wait "$stale" 2>/dev/null
[ -S "$tmp/S" ] || bad "could not make a stale socket"
"$cove" run --accel "$accel" --kernel "$guest" --console "unix:$tmp/S" --monitor "$tmp/M" \
	--virtio-console "unix:$tmp/V" --pidfile "$tmp/P" </dev/null >"$tmp/out2" 2>"$tmp/err2" &
cpid=$!
pids="$pids $cpid"
wait_until 60 test -s "$tmp/P" || { bad "run 2: no pidfile"; exit 1; }
is_socket_0600 "$tmp/V" && ok "virtio console is a socket too" || bad "no virtio console socket"
socat -u "UNIX-CONNECT:$tmp/S" "OPEN:$tmp/con3,creat,append" &
pids="$pids $!"
wait_until 60 has_tick_after "$tmp/con3" 0 && ok "stale socket replaced: ticks" || bad "run 2: no ticks"
expect_reply "run 2: pause" ok pause
expect_reply "run 2: quit" ok quit
reap "$cpid"
[ "$st" = 0 ] && ok "quit: exit status 0" || bad "quit: exit status $st: $(cat "$tmp/err2")"
[ ! -e "$tmp/S" ] && [ ! -e "$tmp/M" ] && [ ! -e "$tmp/V" ] && [ ! -e "$tmp/P" ] &&
	ok "run 2: sockets and pidfile removed" || bad "run 2: left behind: $(ls "$tmp")"
[ ! -s "$tmp/err2" ] || bad "run 2 stderr: $(cat "$tmp/err2")"

# ---- run 3: SIGTERM (what a manager sends to destroy a VM) ----
"$cove" run --accel "$accel" --kernel "$guest" --console "unix:$tmp/S" --monitor "$tmp/M" \
	--pidfile "$tmp/P" </dev/null >"$tmp/out3" 2>"$tmp/err3" &
cpid=$!
pids="$pids $cpid"
wait_until 60 test -s "$tmp/P" || { bad "run 3: no pidfile"; exit 1; }
expect_reply "run 3: status" running status
kill -TERM "$cpid"
reap "$cpid"
[ "$st" = 143 ] && ok "SIGTERM: exit status 143" || bad "SIGTERM: exit status $st, want 143"
[ ! -e "$tmp/S" ] && [ ! -e "$tmp/M" ] && [ ! -e "$tmp/P" ] &&
	ok "run 3: sockets and pidfile removed" || bad "run 3: left behind: $(ls "$tmp")"
exit "$fail"
