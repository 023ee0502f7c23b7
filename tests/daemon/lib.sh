# SPDX-License-Identifier: MIT
# Shared by the coved tests: a coved on a temporary socket and state directory, stock virsh
# (libvirt-clients, no libvirtd) against it, and cleanup of every process a test started.
# Waits have generous safety limits only; nothing here measures speed.
# Needs COVED, COVE, COVE_GUEST (powerbtn.elf) and DAEMON_TESTS (this folder) in the environment.
set -u
: "${COVED:?}" "${COVE:?}" "${COVE_GUEST:?}" "${DAEMON_TESTS:?}"
command -v virsh >/dev/null || { echo "virsh is missing (libvirt-clients, scripts/deps.sh)" >&2; exit 2; }

# short: Unix socket paths must stay under 108 bytes
tmp=$(mktemp -d /tmp/coved-t.XXXXXX) || exit 2
sock=$tmp/sock
state=$tmp/state
uri="cove+unix:///system?socket=$sock"
coved_pid=
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# Every cove a coved started has a pidfile under run/; they run in their own sessions, so a test
# kills them itself.
kill_vms() {
	local f
	for f in "$state"/run/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
}
cleanup() {
	[ -n "$coved_pid" ] && kill "$coved_pid" 2>/dev/null
	kill_vms
	[ "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# wait_until SECONDS CMD...: polls CMD every 0.1 s; false when the safety limit passes.
wait_until() {
	local limit=$(($1 * 10)) i
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

coved_alive() { [ -n "$coved_pid" ] && kill -0 "$coved_pid" 2>/dev/null; }

# start_coved [ARGS...]: a foreground coved; its log is $tmp/coved.log
start_coved() {
	"$COVED" --foreground --socket "$sock" --state-dir "$state" --cove "$COVE" "$@" \
		>>"$tmp/coved.log" 2>&1 &
	coved_pid=$!
	# the socket file of a killed coved may still be there: wait for an answer
	wait_until 30 sh -c "virsh -q -c '$uri' uri >/dev/null 2>&1" ||
		{ bad "coved does not answer on $sock"; cat "$tmp/coved.log"; exit 1; }
}

v() { timeout 120 virsh -q -c "$uri" "$@"; }

# define_guest NAME [XML]: fills in the name, the guest kernel and a disk image, defines it
define_guest() {
	local name=$1 xml=${2:-$DAEMON_TESTS/guest.xml}
	truncate -s 1M "$tmp/$name.img"
	sed -e "s|@NAME@|$name|g" -e "s|@KERNEL@|$COVE_GUEST|g" -e "s|@DISK@|$tmp/$name.img|g" \
		"$xml" >"$tmp/$name.xml"
	v define "$tmp/$name.xml"
}

domstate() { v domstate "$1" 2>/dev/null | head -n 1; }
state_is() { [ "$(domstate "$1")" = "$2" ]; }

# expect NAME CMD...: CMD must succeed
expect() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$name"; else bad "$name: $(tr '\n' ' ' <"$tmp/out")"; fi
}
# expect_fail NAME PATTERN CMD...: CMD must fail with PATTERN in its output
expect_fail() {
	local name=$1 pat=$2
	shift 2
	if "$@" >"$tmp/out" 2>&1; then
		bad "$name: succeeded"
	elif grep -q -- "$pat" "$tmp/out"; then
		ok "$name: $(grep -- "$pat" "$tmp/out" | head -n 1)"
	else
		bad "$name: wanted '$pat', got $(tr '\n' ' ' <"$tmp/out")"
	fi
}

still_serves() {
	if coved_alive && v list --all >/dev/null 2>&1; then ok "coved still serves ($1)"; else bad "coved stopped serving after $1"; fi
}

finish() {
	[ $fail = 0 ] || { echo "--- coved log"; cat "$tmp/coved.log"; }
	exit $fail
}
