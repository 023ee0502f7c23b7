#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coved keeps serving through what clients get wrong: 50 concurrent virsh clients listing and
# querying while a domain starts and stops; a client that hangs up mid-call; a truncated, an
# oversized, a too-short and a hostile-length message (tests/daemon/rawclient.c); an unknown
# procedure (error 39/7); keepalive answered while a start waits on a hung cove; an XML with an
# unknown element; a read-only socket that refuses changes.
. "$(dirname "$0")/lib.sh"
: "${RAWCLIENT:?}"

start_coved
expect "define" define_guest pb
expect "define a second domain" define_guest pb2

# ---- 50 concurrent clients while pb starts and stops twice
(
	for round in 1 2; do
		virsh -q -c "$uri" start pb >/dev/null 2>&1 || exit 1
		virsh -q -c "$uri" destroy pb >/dev/null 2>&1 || exit 1
	done
) &
cycler=$!
pids=()
for i in $(seq 1 50); do
	case $((i % 3)) in
	0) v list --all >"$tmp/c$i" 2>&1 & ;;
	1) v dominfo pb2 >"$tmp/c$i" 2>&1 & ;;
	2) v domstate pb >"$tmp/c$i" 2>&1 & ;;
	esac
	pids+=($!)
done
nfail=0
for i in $(seq 1 50); do
	wait "${pids[$((i - 1))]}" || { nfail=$((nfail + 1)); echo "client $i: $(cat "$tmp/c$i")"; }
done
[ $nfail = 0 ] && ok "50 concurrent clients all answered" || bad "$nfail of 50 concurrent clients failed"
n=$(grep -l 'pb2' "$tmp"/c* | wc -l)
[ "$n" -eq 33 ] && ok "the list and dominfo clients saw pb2 ($n)" || bad "only $n clients saw pb2"
wait $cycler && ok "start/destroy cycles beside them" || bad "start/destroy cycle failed"
still_serves "50 concurrent clients"

# ---- raw messages
expect "keepalive ping gets a pong" "$RAWCLIENT" "$sock" ping
expect "unknown procedure: error code 39, domain 7" "$RAWCLIENT" "$sock" unknown-proc
expect "truncated message" "$RAWCLIENT" "$sock" truncated
still_serves "a truncated message"
expect "oversized message: the client is closed" "$RAWCLIENT" "$sock" oversized
still_serves "an oversized message"
expect "too-short length word: closed" "$RAWCLIENT" "$sock" short-length
expect "hostile string length: closed" "$RAWCLIENT" "$sock" hostile-string
still_serves "hostile lengths"

# ---- a client that hangs up mid-call: the start still completes
expect "create, then hang up before the reply" "$RAWCLIENT" "$sock" create-and-close pb
if wait_until 60 state_is pb running; then ok "the abandoned start finished: running"; else bad "after abandoned start: $(domstate pb)"; fi
expect "destroy it" v destroy pb
still_serves "a client that hung up mid-call"

# ---- virsh killed in the middle of a console session
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
	kill -9 "$1" 2>/dev/null
}
expect "start pb2" v start pb2
mkfifo "$tmp/in"
timeout 90 script -qfec "virsh -c '$uri' console pb2" "$tmp/con" <"$tmp/in" >/dev/null 2>&1 &
con=$!
exec 5>"$tmp/in"
if wait_until 60 grep -qs 'powerbtn: tick' "$tmp/con"; then ok "console attached"; else bad "console: $(cat "$tmp/con")"; fi
kill_tree "$con"; wait "$con" 2>/dev/null
exec 5>&-
still_serves "a console client killed mid-stream"
( exec 5>"$tmp/in"; sleep 5 ) &
feeder=$!
timeout 90 script -qfec "virsh -c '$uri' console pb2" "$tmp/con2" <"$tmp/in" >/dev/null 2>&1 &
con=$!
if wait_until 60 grep -qs 'powerbtn: tick' "$tmp/con2"; then ok "a new console after the killed one"; else bad "console 2: $(cat "$tmp/con2")"; fi
kill_tree "$con"; wait "$con" 2>/dev/null
kill "$feeder" 2>/dev/null
expect "destroy pb2" v destroy pb2

# ---- keepalive while a call waits: a cove that never opens its monitor
cat >"$tmp/hung-cove" <<'HUNG'
#!/bin/sh
exec sleep 1000
HUNG
chmod +x "$tmp/hung-cove"
kill "$coved_pid"; wait "$coved_pid" 2>/dev/null
start_coved --cove "$tmp/hung-cove"
expect "PONG while the start of a hung cove waits, then hang up" "$RAWCLIENT" "$sock" ping-during-create pb
expect "destroy the hung start" v destroy pb
# real virsh: it pings after 5 s idle and drops a server silent for ~35 s; a start that waits 40 s
# must end with coved's own error, not a keepalive timeout
kill "$coved_pid"; wait "$coved_pid" 2>/dev/null
start_coved --cove "$tmp/hung-cove" --start-timeout 40
expect_fail "virsh start waits 40 s on a hung cove and gets coved's answer" "did not answer on its monitor" v start pb
if ! grep -qi keepalive "$tmp/out"; then ok "no keepalive timeout"; else bad "keepalive: $(cat "$tmp/out")"; fi
expect "start it again" "$RAWCLIENT" "$sock" create-and-close pb
expect "destroy the hung start" v destroy pb
if wait_until 60 state_is pb "shut off"; then ok "hung cove killed: shut off"; else bad "hung cove: $(domstate pb)"; fi
still_serves "a hung cove"
kill "$coved_pid"; wait "$coved_pid" 2>/dev/null
start_coved

# ---- a VM process that crashes takes only itself down
expect "start pb2 to crash it" v start pb2
kill -SEGV "$(cat "$state/run/pb2.pid")"
if wait_until 60 state_is pb2 "shut off"; then ok "crashed cove: shut off"; else bad "after SIGSEGV: $(domstate pb2)"; fi
expect "domstate --reason: crashed" sh -c "virsh -q -c '$uri' domstate --reason pb2 | grep -q 'shut off (crashed)'"
still_serves "a crashed VM process"

# ---- a start that cove refuses: the error carries cove's own last line, and nothing is left
printf 'not a kernel\n' >"$tmp/notakernel"
sed -e "s|@KERNEL@|$tmp/notakernel|g" "$DAEMON_TESTS/guest.xml" >"$tmp/nk-in.xml"
expect "define a domain with a file that is no kernel" define_guest nk "$tmp/nk-in.xml"
expect_fail "start fails with cove's message" "cove exited before the domain ran: cove: " v start nk
if state_is nk "shut off" && [ ! -e "$state/run/nk.runtime" ]; then ok "the failed start left it shut off, no runtime file"; else bad "after failed start: $(domstate nk), $(ls "$state/run")"; fi
still_serves "a start cove refused"

# ---- definitions coved must refuse
expect_fail "unknown element rejected" "unsupported element <domain/devices/interface>" define_guest bad "$DAEMON_TESTS/unknown-element.xml"
sed -e 's|<domain type=.cove.|<domain type="kvm"|' "$DAEMON_TESTS/guest.xml" >"$tmp/kvm.xml"
expect_fail "domain type other than cove rejected" "type='cove'" define_guest bad "$tmp/kvm.xml"
printf '<domain type="cove"><name>x' >"$tmp/broken.xml"
expect_fail "malformed XML rejected" "not well-formed" v define "$tmp/broken.xml"
sed -e 's|<name>@NAME@</name>|<name>pb</name><uuid>00000000-0000-4000-8000-000000000001</uuid>|' "$DAEMON_TESTS/guest.xml" >"$tmp/dup.xml"
expect_fail "same name, other uuid rejected" "already exists" define_guest pb "$tmp/dup.xml"
v list --all >"$tmp/list"
if ! grep -q bad "$tmp/list"; then ok "nothing rejected was defined"; else bad "list: $(cat "$tmp/list")"; fi

# ---- the read-only socket answers queries and refuses changes
ro="cove+unix:///system?socket=$sock-ro"
if virsh -q -c "$ro" list --all | grep -q pb2; then ok "read-only socket lists"; else bad "read-only list failed"; fi
expect_fail "read-only socket refuses start" "read-only" virsh -q -c "$ro" start pb
expect_fail "read-only socket refuses undefine" "read-only" virsh -q -c "$ro" undefine pb2
still_serves "everything above"
finish
