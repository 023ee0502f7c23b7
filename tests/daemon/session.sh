#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The virsh session of issue 5, with Debian's virsh and no libvirtd: define (tests/daemon/
# guest.xml running the powerbtn guest on the soft accelerator), list --all, start, dominfo,
# dumpxml, console under a pty (reads the guest's ticks), suspend, resume, shutdown (the guest
# powers off on the ACPI button: shut off), start again, destroy, undefine.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "session.sh: script (bsdutils) is missing" >&2; exit 2; }

start_coved
expect "define" define_guest pb
[ $fail = 0 ] || finish
v list --all >"$tmp/list"
if grep -Eq '^ *- +pb +shut off$' "$tmp/list"; then ok "list --all: pb shut off"; else bad "list --all: $(cat "$tmp/list")"; fi

expect "start" v start pb
if state_is pb running; then ok "domstate: running"; else bad "domstate after start: $(domstate pb)"; fi
v list >"$tmp/list"
if grep -Eq '^ *[0-9]+ +pb +running$' "$tmp/list"; then ok "list: pb running with an id"; else bad "list: $(cat "$tmp/list")"; fi

v dominfo pb >"$tmp/dominfo"
for want in 'Name: *pb' 'State: *running' 'CPU\(s\): *1' 'Max memory: *65536 KiB' 'Persistent: *yes' 'OS Type: *hvm'; do
	if grep -Eq "^$want" "$tmp/dominfo"; then ok "dominfo: $want"; else bad "dominfo lacks '$want': $(cat "$tmp/dominfo")"; fi
done
uuid=$(awk '/^UUID:/ { print $2 }' "$tmp/dominfo")
if v domblklist pb | grep -Eq "^ *vda +$tmp/pb.img$"; then ok "domblklist: vda"; else bad "domblklist: $(v domblklist pb)"; fi
if tr '\0' ' ' <"/proc/$(cat "$state/run/pb.pid")/cmdline" | grep -q -- "--disk $tmp/pb.img"; then
	ok "cove was given the disk"
else
	bad "cove's command line: $(tr '\0' ' ' <"/proc/$(cat "$state/run/pb.pid")/cmdline")"
fi
expect "vcpucount" sh -c "virsh -q -c '$uri' vcpucount pb --maximum --config | grep -qx ' *1'"

v dumpxml pb >"$tmp/dump.xml"
if grep -q "<uuid>$uuid</uuid>" "$tmp/dump.xml" && grep -q "<kernel>$COVE_GUEST</kernel>" "$tmp/dump.xml" &&
	grep -q "<cove:accel>soft</cove:accel>" "$tmp/dump.xml" && grep -Eq "<domain type='cove' id='[0-9]+'" "$tmp/dump.xml"; then
	ok "dumpxml: uuid, kernel, accelerator and id"
else
	bad "dumpxml: $(cat "$tmp/dump.xml")"
fi
# the dumped XML defines the same domain again (round trip)
expect "dumpxml round trip defines" v define "$tmp/dump.xml"

# console: virsh needs a terminal; script gives it one. Ctrl-] (0x1d) leaves once ticks came.
( wait_until 60 grep -qs 'powerbtn: tick' "$tmp/console"; printf '\035' ) |
	timeout 90 script -qfec "virsh -c '$uri' console pb" "$tmp/console" >/dev/null 2>&1
rc=$?
if grep -q 'powerbtn: tick [0-9]' "$tmp/console"; then ok "console: the guest's ticks arrived (virsh exit $rc)"; else bad "console: $(cat "$tmp/console")"; fi
[ $rc = 0 ] && ok "console: virsh left on Ctrl-] with status 0" || bad "console: virsh exit $rc"
# a second console session after the first ended works too
( wait_until 60 grep -qs 'powerbtn: tick' "$tmp/console2"; printf '\035' ) |
	timeout 90 script -qfec "virsh -c '$uri' console pb" "$tmp/console2" >/dev/null 2>&1
if grep -q 'powerbtn: tick [0-9]' "$tmp/console2"; then ok "console: a second session"; else bad "console 2: $(cat "$tmp/console2")"; fi

# one console at a time: a second is refused, --force takes over and ends the first session
mkfifo "$tmp/in4"
timeout 120 script -qfec "virsh -c '$uri' console pb" "$tmp/console4" <"$tmp/in4" >/dev/null 2>&1 &
first=$!
exec 6>"$tmp/in4"
wait_until 60 grep -qs 'powerbtn: tick' "$tmp/console4" || bad "console 4 got no ticks"
expect_fail "a second console is refused" "Active console session" \
	timeout 60 script -qfec "virsh -c '$uri' console pb" "$tmp/console5" </dev/null
( wait_until 60 grep -qs 'powerbtn: tick' "$tmp/console6"; printf '\035' ) |
	timeout 90 script -qfec "virsh -c '$uri' console --force pb" "$tmp/console6" >/dev/null 2>&1
if grep -q 'powerbtn: tick [0-9]' "$tmp/console6"; then ok "console --force takes the console over"; else bad "console --force: $(cat "$tmp/console6")"; fi
if wait_until 60 sh -c "! kill -0 $first 2>/dev/null"; then ok "the forced-out session ended"; else bad "the first console session is still attached"; kill $first; fi
exec 6>&-

expect "suspend" v suspend pb
if state_is pb paused; then ok "domstate: paused"; else bad "after suspend: $(domstate pb)"; fi
expect "resume" v resume pb
if state_is pb running; then ok "domstate: running again"; else bad "after resume: $(domstate pb)"; fi

# shutdown with a console attached: the guest's last words reach it, and the stream ends by
# itself when the VM is gone
mkfifo "$tmp/in3"
timeout 300 script -qfec "virsh -c '$uri' console pb" "$tmp/console3" <"$tmp/in3" >/dev/null 2>&1 &
con=$!
exec 5>"$tmp/in3" # keeps the console's input open until the end
wait_until 60 grep -qs 'powerbtn: tick' "$tmp/console3" || bad "console 3 got no ticks"
expect "shutdown" v shutdown pb
if wait_until 120 state_is pb "shut off"; then ok "shutdown: the guest powered off (shut off)"; else bad "after shutdown: $(domstate pb)"; fi
if grep -q 'power button, powering off' "$tmp/console3"; then ok "the console saw the guest take the power button"; else bad "console 3: $(cat "$tmp/console3")"; fi
if wait_until 60 sh -c "! kill -0 $con 2>/dev/null"; then ok "the console session ended with the VM"; else bad "virsh console still attached to a shut-off domain"; kill $con; fi
exec 5>&-
expect "domstate --reason: shutdown" sh -c "virsh -q -c '$uri' domstate --reason pb | grep -q 'shut off (shutdown)'"

expect "start again" v start pb
if state_is pb running; then ok "running again"; else bad "second start: $(domstate pb)"; fi
expect_fail "start of a running domain" "already" v start pb
expect "destroy" v destroy pb
if state_is pb "shut off"; then ok "destroy: shut off"; else bad "after destroy: $(domstate pb)"; fi
expect "domstate --reason: destroyed" sh -c "virsh -q -c '$uri' domstate --reason pb | grep -q 'shut off (destroyed)'"
expect_fail "destroy of a shut-off domain" "not running" v destroy pb
if [ -z "$(ls "$state/run" | grep -v '\.log$')" ]; then ok "no runtime files or sockets left"; else bad "left in run/: $(ls "$state/run")"; fi

expect "undefine" v undefine pb
v list --all >"$tmp/list"
if ! grep -q pb "$tmp/list"; then ok "list --all: pb gone"; else bad "after undefine: $(cat "$tmp/list")"; fi
[ ! -e "$state/domains/pb.xml" ] && ok "definition file removed" || bad "domains/pb.xml still there"
still_serves "the session"
finish
