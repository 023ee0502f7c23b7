#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coved restarts while a domain runs (SIGKILL, as a crash would): the VM lives on in its own
# session; the new coved adopts it from run/NAME.runtime, lists it running with the same id, can
# pause it and destroy it; a stale runtime file for a dead VM is cleaned up, not adopted.
. "$(dirname "$0")/lib.sh"

start_coved
expect "define" define_guest pb
expect "define stale" define_guest stale
expect "start" v start pb
id=$(v domid pb)
vm=$(cat "$state/run/pb.pid")
kill -9 "$coved_pid"; wait "$coved_pid" 2>/dev/null
kill -0 "$vm" && ok "the VM outlived coved" || bad "the VM died with coved"
# a runtime file whose process is gone (pid 1's start time cannot match)
printf '[runtime]\npid=1\nstart-time=1\nid=77\nmonitor=%s\nconsole=%s\n' "$state/run/stale.mon" "$state/run/stale.con" >"$state/run/stale.runtime"

start_coved
v list --all >"$tmp/list"
if grep -Eq "^ *$id +pb +running$" "$tmp/list"; then ok "new coved lists pb running with id $id"; else bad "list after restart: $(cat "$tmp/list")"; fi
if grep -Eq '^ *- +stale +shut off$' "$tmp/list"; then ok "stale runtime file not adopted"; else bad "stale: $(cat "$tmp/list")"; fi
[ ! -e "$state/run/stale.runtime" ] && ok "stale runtime file removed" || bad "stale runtime file left"
expect "suspend the adopted VM" v suspend pb
if state_is pb paused; then ok "paused"; else bad "after suspend: $(domstate pb)"; fi
expect "resume" v resume pb
expect "destroy the adopted VM" v destroy pb
if state_is pb "shut off"; then ok "shut off"; else bad "after destroy: $(domstate pb)"; fi
wait_until 30 sh -c "! kill -0 $vm 2>/dev/null" && ok "its cove process is gone" || bad "cove pid $vm still there"
expect "start it again under the new coved" v start pb
# a second restart with the VM paused: adopted as paused
expect "suspend" v suspend pb
kill -9 "$coved_pid"; wait "$coved_pid" 2>/dev/null
start_coved
if state_is pb paused; then ok "adopted a paused VM as paused"; else bad "after second restart: $(domstate pb)"; fi
expect "destroy" v destroy pb
still_serves "two restarts"
finish
