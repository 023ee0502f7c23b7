#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coved under systemd's protocols without systemd itself: systemd-socket-activate hands it both
# sockets (LISTEN_FDS) on the first connection, coved tells $NOTIFY_SOCKET READY=1 (received by
# rawclient notify-wait), virsh is served on both, the read-only one refuses changes and has
# mode 0666; and the daemonized (no --foreground) coved also serves and stops on SIGTERM.
. "$(dirname "$0")/lib.sh"
: "${RAWCLIENT:?}"
command -v systemd-socket-activate >/dev/null || { echo "systemd-socket-activate is missing (systemd)" >&2; exit 2; }

"$RAWCLIENT" "$tmp/notify" notify-wait >"$tmp/notified" 2>&1 &
notifier=$!
wait_until 30 test -S "$tmp/notify" || bad "no notify socket"
systemd-socket-activate -E "NOTIFY_SOCKET=$tmp/notify" -l "$sock" -l "$sock-ro" \
	"$COVED" --foreground --state-dir "$state" --cove "$COVE" >>"$tmp/coved.log" 2>&1 &
coved_pid=$!
wait_until 30 test -S "$sock-ro" || bad "systemd-socket-activate did not listen"
expect "define through an activated socket" define_guest pb
if wait $notifier; then ok "READY=1 on NOTIFY_SOCKET: $(cat "$tmp/notified")"; else bad "notify: $(cat "$tmp/notified")"; fi
ro="cove+unix:///system?socket=$sock-ro"
if virsh -q -c "$ro" list --all | grep -q pb; then ok "the passed read-only socket lists"; else bad "read-only list"; fi
expect_fail "the passed read-only socket refuses start" "read-only" virsh -q -c "$ro" start pb
[ "$(stat -c %a "$sock-ro")" = 666 ] && ok "read-only socket is 0666" || bad "read-only socket mode $(stat -c %a "$sock-ro")"
kill "$coved_pid"; wait "$coved_pid" 2>/dev/null
coved_pid=

# daemon mode: the parent returns once coved serves
rm -f "$sock" "$sock-ro"
if "$COVED" --socket "$sock" --state-dir "$state" --cove "$COVE"; then ok "coved daemonized"; else bad "coved without --foreground failed"; fi
if v list --all | grep -q pb; then ok "the daemon serves at once"; else bad "daemonized coved does not serve"; fi
dpid=$(ps -eo pid,args | awk -v s="$sock" '$2 ~ /coved$/ && index($0, s) { print $1 }')
[ -n "$dpid" ] && kill "$dpid"
wait_until 30 test ! -e "$sock" && ok "SIGTERM: coved exits and removes its sockets" || bad "sockets left after SIGTERM"
finish
