#!/usr/bin/env bash
# The nested-KVM harness: boot the distribution kernel in QEMU TCG (-cpu max offers SVM), load
# kvm-amd there and run commands (cove on a real /dev/kvm) inside. See --help and README.md.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
SCRIPTS=$REPO/scripts
CACHE=${COVE_CACHE:-$REPO/build/cache}

usage() {
	cat <<EOF
Usage: $PROG [options] --cmd 'NAME COMMAND...' [--cmd ...]
       $PROG [options] --interactive 'COMMAND...'

Boots Debian's kernel in qemu-system-x86_64 -accel tcg -cpu max, loads irqbypass ccp kvm kvm-amd
in it and runs the commands inside, in /cove, with busybox sh. Each command's output goes to
<out>/cmd/NAME.log; the run fails (exit 1) when a command exits non-zero, when one has no result
(timeout, crash) or when /dev/kvm does not appear. Exit 2 means a usage or setup error.

In the outer VM: /cove/bin/cove (with its libraries), /cove/bin/kvm-probe, /cove/vmlinuz (the same
kernel), /cove/test.cpio.gz and /cove/shell.cpio.gz (scripts/mkinitramfs.sh test and shell),
/cove/disk.img (--disk), /cove/extra/<name> (--extra).

Options:
  --cmd 'NAME CMD'     run CMD (busybox sh -c) and report it as NAME; repeatable
  --commands FILE      lines 'NAME COMMAND...' ('#' and blank lines ignored)
  --probe              add the command 'kvm-probe' (tests/nested/kvm-probe.c: API version,
                       KVM_CREATE_VM, a real-mode guest that does OUT and HLT)
  --interactive CMD    run CMD with the outer serial console on this terminal (chardev
                       signal=off, no mux: Ctrl-C and Ctrl-A x reach the program inside);
                       exits with CMD's status
  --cove PATH          cove binary (default: $REPO/build/src/cove)
  --no-cove            do not put cove in the image
  --extra FILE         copy FILE to /cove/extra/ (its shared libraries too); repeatable
  --disk FILE          copy FILE to /cove/disk.img
  --out DIR            logs go here (default: $REPO/build/nested/run-<time>-<pid>, with
                       build/nested/last pointing to it)
  --timeout SECS       limit for the whole outer VM (default 1800)
  --cmd-timeout SECS   limit for each command inside (default 1200)
  --machine M          outer QEMU machine (default q35; microvm hangs in about half the boots
                       when TCG is too slow for the kernel to calibrate the TSC against the PIT)
  --smp N              outer vCPUs (default 2)
  --memory SIZE        outer memory (default 3G)
  --append ARGS        extra outer kernel command line
  --verbose            copy the outer console to stderr while it runs
  --help               this text

Images are cached in \${COVE_CACHE:-$REPO/build/cache}, keyed by a hash of their inputs.
EOF
}

die() {
	echo "$PROG: error: $*" >&2
	exit 2
}
say() { echo "nested: $*" >&2; }

CMDS=()
COMMANDS_FILE=
PROBE=0
INTERACTIVE=
COVE_BIN=
NO_COVE=0
EXTRAS=()
DISK=
OUT=
TIMEOUT=1800
CMD_TIMEOUT=1200
MACHINE=q35
SMP=2
MEMORY=3G
APPEND=
VERBOSE=0

need_arg() {
	{ [ $# -ge 2 ] && [ -n "$2" ]; } || die "option $1 needs a value"
}

while [ $# -gt 0 ]; do
	case $1 in
	--help | -h)
		usage
		exit 0
		;;
	--cmd)
		need_arg "$@"
		CMDS+=("$2")
		shift
		;;
	--commands)
		need_arg "$@"
		COMMANDS_FILE=$2
		shift
		;;
	--probe) PROBE=1 ;;
	--interactive)
		need_arg "$@"
		INTERACTIVE=$2
		shift
		;;
	--cove)
		need_arg "$@"
		COVE_BIN=$2
		shift
		;;
	--no-cove) NO_COVE=1 ;;
	--extra)
		need_arg "$@"
		EXTRAS+=("$2")
		shift
		;;
	--disk)
		need_arg "$@"
		DISK=$2
		shift
		;;
	--out)
		need_arg "$@"
		OUT=$2
		shift
		;;
	--timeout)
		need_arg "$@"
		TIMEOUT=$2
		shift
		;;
	--cmd-timeout)
		need_arg "$@"
		CMD_TIMEOUT=$2
		shift
		;;
	--machine)
		need_arg "$@"
		MACHINE=$2
		shift
		;;
	--smp)
		need_arg "$@"
		SMP=$2
		shift
		;;
	--memory)
		need_arg "$@"
		MEMORY=$2
		shift
		;;
	--append)
		need_arg "$@"
		APPEND=$2
		shift
		;;
	--verbose | -v) VERBOSE=1 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

# ---- checks ------------------------------------------------------------------------------------

[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, not '$TIMEOUT'"
[[ $CMD_TIMEOUT =~ ^[0-9]+$ ]] || die "--cmd-timeout wants whole seconds, not '$CMD_TIMEOUT'"
[[ $SMP =~ ^[0-9]+$ ]] || die "--smp wants a number, not '$SMP'"
if [ -n "$INTERACTIVE" ]; then
	{ [ ${#CMDS[@]} -eq 0 ] && [ -z "$COMMANDS_FILE" ] && [ "$PROBE" = 0 ]; } ||
		die "--interactive cannot be combined with --cmd, --commands or --probe"
else
	{ [ ${#CMDS[@]} -gt 0 ] || [ -n "$COMMANDS_FILE" ] || [ "$PROBE" = 1 ]; } ||
		die "nothing to run: give --cmd, --commands, --probe or --interactive (try --help)"
fi
[ -z "$COMMANDS_FILE" ] || [ -f "$COMMANDS_FILE" ] || die "commands file '$COMMANDS_FILE' not found"
[ -z "$DISK" ] || [ -f "$DISK" ] || die "disk image '$DISK' not found"
for e in "${EXTRAS[@]}"; do
	[ -f "$e" ] || die "extra file '$e' not found"
done
if [ "$NO_COVE" = 1 ]; then
	[ -z "$COVE_BIN" ] || die "--cove and --no-cove contradict each other"
else
	COVE_BIN=${COVE_BIN:-$REPO/build/src/cove}
	[ -x "$COVE_BIN" ] || die "cove binary '$COVE_BIN' not found (build it, pass --cove PATH or --no-cove)"
	COVE_BIN=$(realpath "$COVE_BIN")
fi
for t in qemu-system-x86_64 cpio gzip gcc sha256sum; do
	command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
done

# ---- commands ----------------------------------------------------------------------------------

if [ -z "$OUT" ]; then
	mkdir -p "$REPO/build/nested"
	OUT=$REPO/build/nested/run-$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$OUT"
	ln -sfn "${OUT##*/}" "$REPO/build/nested/last"
	# Keep the last few runs only.
	find "$REPO/build/nested" -maxdepth 1 -name 'run-*' -type d -printf '%T@ %p\n' |
		sort -n | head -n -8 | cut -d' ' -f2- | xargs -r rm -rf
else
	mkdir -p "$OUT"
fi
OUT=$(realpath "$OUT")
rm -rf "$OUT/cmd" "$OUT/payload"
mkdir -p "$OUT/cmd" "$OUT/payload"

NAMES=()
add_command() { # LINE
	local name=${1%%[[:space:]]*}
	case $name in
	'' | '#'*) return 0 ;;
	esac
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "command name '$name' may only use A-Z a-z 0-9 . _ -"
	[ "$name" != "$1" ] || die "command '$name' has no command after its name"
	for n in "${NAMES[@]}"; do
		[ "$n" != "$name" ] || die "command name '$name' used twice"
	done
	NAMES+=("$name")
	printf '%s\n' "$1" >>"$OUT/payload/commands"
}

: >"$OUT/payload/commands"
[ "$PROBE" = 0 ] || add_command "kvm-probe /cove/bin/kvm-probe"
if [ -n "$COMMANDS_FILE" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line#"${line%%[![:space:]]*}"}
		add_command "$line"
	done <"$COMMANDS_FILE"
fi
for c in "${CMDS[@]}"; do
	[[ $c != *$'\n'* ]] || die "--cmd '${c%%$'\n'*}...' spans lines; use a script via --extra"
	add_command "$c"
done
echo "$CMD_TIMEOUT" >"$OUT/payload/cmd-timeout"
if [ -n "$INTERACTIVE" ]; then
	rows=24 cols=80
	if [ -t 0 ] && sz=$(stty size 2>/dev/null); then
		rows=${sz% *} cols=${sz#* }
	fi
	{
		echo "stty rows $rows cols $cols 2>/dev/null"
		echo "export TERM=${TERM:-linux}"
		printf '%s\n' "$INTERACTIVE"
	} >"$OUT/payload/interactive"
fi

# ---- images ------------------------------------------------------------------------------------

eval "$("$SCRIPTS/fetch-kernel.sh" --quiet)" || die "scripts/fetch-kernel.sh failed"
# shellcheck disable=SC2154 # set by the eval above
KERNEL_DIR=$COVE_KERNEL_DIR
# shellcheck disable=SC2154
VMLINUZ=$COVE_VMLINUZ
# shellcheck disable=SC2154
KVER=$COVE_KERNEL_VERSION

hash_of() { # FILES... -> one sha256 over their contents and names
	sha256sum "$@" | sha256sum | cut -c1-16
}

# The libraries a dynamic binary loads, resolved, for the cache key.
libs_of() {
	ldd "$1" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p' |
		xargs -r realpath
}

mkdir -p "$CACHE/initramfs"
BASE_KEY_INPUTS=("$SCRIPTS/mkinitramfs.sh" /bin/busybox "$VMLINUZ")

cached_image() { # KIND KEY [mkinitramfs args...] -> prints the path
	local kind=$1 key=$2 img
	shift 2
	img=$CACHE/initramfs/$kind-$KVER-$key.cpio.gz
	if [ ! -f "$img" ]; then
		say "building $kind image (${img##*/})"
		"$SCRIPTS/mkinitramfs.sh" --kernel-dir "$KERNEL_DIR" "$@" "$kind" "$img.part" >&2 ||
			die "scripts/mkinitramfs.sh $kind failed"
		mv "$img.part" "$img"
		# Drop older images of this kind; keep the newest few.
		find "$CACHE/initramfs" -maxdepth 1 -name "$kind-*.cpio.gz" -printf '%T@ %p\n' |
			sort -n | head -n -4 | cut -d' ' -f2- | xargs -r rm -f
	fi
	echo "$img"
}

t_build=$(date +%s.%N)
base_key=$(hash_of "${BASE_KEY_INPUTS[@]}")
TEST_IMG=$(cached_image test "$base_key")
SHELL_IMG=$(cached_image shell "$base_key")
nested_inputs=("${BASE_KEY_INPUTS[@]}" "$TEST_IMG" "$SHELL_IMG")
nested_args=(--test-initrd "$TEST_IMG" --shell-initrd "$SHELL_IMG")
if [ -n "$COVE_BIN" ]; then
	mapfile -t cove_libs < <(libs_of "$COVE_BIN")
	nested_inputs+=("$COVE_BIN" "${cove_libs[@]}")
	nested_args+=(--cove "$COVE_BIN")
fi
NESTED_IMG=$(cached_image nested "$(hash_of "${nested_inputs[@]}")" "${nested_args[@]}")

PROBE_BIN=$CACHE/kvm-probe-$(hash_of "$HERE/kvm-probe.c")
if [ ! -x "$PROBE_BIN" ]; then
	gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror -o "$PROBE_BIN.part" "$HERE/kvm-probe.c" ||
		die "compiling tests/nested/kvm-probe.c failed"
	mv "$PROBE_BIN.part" "$PROBE_BIN"
fi

overlay_args=(--file "$PROBE_BIN:/cove/bin/kvm-probe" --file "$OUT/payload/cmd-timeout:/cove/cmd-timeout")
[ -s "$OUT/payload/commands" ] && overlay_args+=(--commands "$OUT/payload/commands")
[ -z "$INTERACTIVE" ] || overlay_args+=(--file "$OUT/payload/interactive:/cove/interactive")
[ -z "$DISK" ] || overlay_args+=(--disk "$DISK")
for e in "${EXTRAS[@]}"; do
	overlay_args+=(--extra "$e")
done
"$SCRIPTS/mkinitramfs.sh" "${overlay_args[@]}" overlay "$OUT/payload/overlay.cpio.gz" ||
	die "building the overlay image failed"
# The kernel unpacks concatenated cpio archives one after the other.
INITRD=$OUT/payload/initrd.cpio.gz
cat "$NESTED_IMG" "$OUT/payload/overlay.cpio.gz" >"$INITRD"
t_qemu=$(date +%s.%N)

# ---- run ---------------------------------------------------------------------------------------

QEMU=(qemu-system-x86_64 -M "$MACHINE" -accel tcg -cpu max -smp "$SMP" -m "$MEMORY"
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 $APPEND"
	-nodefaults -display none -no-reboot)
SERIAL=$OUT/serial.log
elapsed() { echo "$1 $2" | awk '{ printf "%.1f", $2 - $1 }'; }

if [ -n "$INTERACTIVE" ]; then
	[ -t 0 ] || say "warning: stdin is not a terminal; the program inside will not see a tty on this side"
	say "images ready in $(elapsed "$t_build" "$t_qemu") s; booting (outer serial on this terminal, log in $SERIAL)"
	rc=0
	"${QEMU[@]}" -chardev "stdio,id=c0,signal=off,logfile=$SERIAL" -serial chardev:c0 ||
		rc=$?
	rm -f "$INITRD"
	[ "$rc" = 0 ] || {
		say "qemu exited with status $rc"
		exit 1
	}
	st=$(tr -d '\r' <"$SERIAL" | sed -n 's/^NESTED-RESULT interactive \([0-9]*\)$/\1/p' | tail -n1)
	[ -n "$st" ] || {
		say "no result from the interactive command (see $SERIAL)"
		exit 1
	}
	exit "$st"
fi

: >"$SERIAL"
tail_pid=
if [ "$VERBOSE" = 1 ]; then
	tail -n +1 -f "$SERIAL" >&2 &
	tail_pid=$!
fi
# QEMU runs in the background so that a harness killed from outside (meson's test timeout, ^C)
# takes the outer VM with it instead of leaving it spinning on both cores.
#
# About one outer boot in ten hangs in the outer kernel's early timer setup under TCG, before
# init prints anything (seen with microvm far more often than with q35). That is the harness's
# own infrastructure, not cove: such a boot is killed after BOOT_WAIT seconds without
# NESTED-BOOTED and retried, at most BOOT_TRIES times in all; the retries are reported.
BOOT_WAIT=${COVE_NESTED_BOOT_WAIT:-120}
BOOT_TRIES=3
SILENCE_MAX=$((CMD_TIMEOUT + 120))
rc=0
qemu_pid=
trap '[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null; exit 143' INT TERM HUP
for try in $(seq 1 "$BOOT_TRIES"); do
	: >"$SERIAL"
	rc=0
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" -chardev "file,id=c0,path=$SERIAL" -serial chardev:c0 \
		</dev/null >"$OUT/qemu.log" 2>&1 &
	qemu_pid=$!
	waited=0
	while kill -0 "$qemu_pid" 2>/dev/null && ! grep -q '^NESTED-BOOTED' "$SERIAL" &&
		[ "$waited" -lt "$BOOT_WAIT" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if kill -0 "$qemu_pid" 2>/dev/null && ! grep -q '^NESTED-BOOTED' "$SERIAL"; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null || true
		say "outer VM did not reach init in ${BOOT_WAIT} s (try $try of $BOOT_TRIES)"
		rc=124
		continue
	fi
	# Once init runs, every command inside is bounded by --cmd-timeout and prints its result.
	# Two signs that the outer VM itself stopped, which no inner timeout can end: its console
	# silent for longer than that, or its kernel reporting a soft lockup or an RCU stall. Both
	# were seen (bench/boot, CI) with both outer vCPUs spinning in TCG's SVM emulation, under
	# cove and under QEMU alike: the outer machine, not the VMM under test. Retry such a run.
	silent=0
	last_size=-1
	wedged=
	while kill -0 "$qemu_pid" 2>/dev/null && [ "$silent" -lt "$SILENCE_MAX" ]; do
		sleep 1
		size=$(stat -c %s "$SERIAL")
		if [ "$size" = "$last_size" ]; then
			silent=$((silent + 1))
			continue
		fi
		silent=0
		last_size=$size
		if grep -qE 'BUG: soft lockup|rcu: INFO: rcu_.* detected stalls|self-detected stall' \
			"$SERIAL"; then
			wedged="its kernel reported a soft lockup or RCU stall"
			break
		fi
	done
	if kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null || true
		say "outer VM stopped: ${wedged:-console silent for ${SILENCE_MAX} s after init} (try $try of $BOOT_TRIES)"
		cp "$SERIAL" "$OUT/serial-try$try.log"
		# which command it was in, and the outer kernel's last words: where wedges happen
		last=$(tr -d '\r' <"$SERIAL" | sed -n 's/^NESTED-BEGIN //p' | tail -n 1)
		say "  last command started: ${last:-none}; last console lines:"
		tail -n 5 "$SERIAL" | tr -d '\r' | sed 's/^/nested:   | /' >&2
		rc=124
		continue
	fi
	wait "$qemu_pid" || rc=$?
	# The outer kernel panicked: the outer machine failed, as in a wedge (seen with block RAM's
	# page churn under -smp 2, "corrupted stack end detected inside scheduler" in a cove thread:
	# a userspace process cannot do that to a sound kernel). Retry, saying so.
	if [ "$try" -lt "$BOOT_TRIES" ] && grep -q 'Kernel panic - not syncing' "$SERIAL"; then
		say "outer VM kernel panicked (try $try of $BOOT_TRIES):"
		cp "$SERIAL" "$OUT/serial-try$try.log"
		tr -d '\r' <"$SERIAL" | grep -m1 -A1 'Kernel panic' | sed 's/^/nested:   | /' >&2
		rc=124
		continue
	fi
	break
done
qemu_pid=
trap - INT TERM HUP
t_end=$(date +%s.%N)
if [ -n "$tail_pid" ]; then
	sleep 0.2
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
fi
rm -f "$INITRD"

# ---- results -----------------------------------------------------------------------------------

tr -d '\r' <"$SERIAL" >"$OUT/serial.txt"
# Split the console into one log per command.
awk -v dir="$OUT/cmd" '
	/^NESTED-BEGIN / { f = dir "/" $2 ".log"; printf "" > f; next }
	/^NESTED-RESULT / { if (f != "") close(f); f = ""; next }
	f != "" { print >> f }
' "$OUT/serial.txt"

# The last 'TAG NAME VALUE' line's VALUE.
field() {
	awk -v t="$1" -v n="$2" '$1 == t && $2 == n && NF == 3 { v = $3 } END { print v }' "$OUT/serial.txt"
}

failed=0 passed=0
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	say "outer VM timed out after $TIMEOUT s"
	failed=$((failed + 1))
elif [ "$rc" != 0 ]; then
	say "qemu exited with status $rc: $(head -n 3 "$OUT/qemu.log" | tr '\n' ' ')"
	failed=$((failed + 1))
fi
booted=$(sed -n 's/^NESTED-BOOTED uptime_cs=\([0-9]*\).*/\1/p' "$OUT/serial.txt")
ready=$(sed -n 's/^NESTED-KVM-READY uptime_cs=\([0-9]*\).*/\1/p' "$OUT/serial.txt")
if [ -n "$ready" ]; then
	say "outer VM: init at $(awk "BEGIN{printf \"%.2f\", $booted/100}") s, /dev/kvm at $(awk "BEGIN{printf \"%.2f\", $ready/100}") s (guest uptime); images $(elapsed "$t_build" "$t_qemu") s, qemu $(elapsed "$t_qemu" "$t_end") s (wall)"
else
	say "outer VM never got /dev/kvm"
	grep -E '^NESTED-(ERROR|RESULT kvm-setup)' "$OUT/serial.txt" >&2 || true
	failed=$((failed + 1))
fi

for n in "${NAMES[@]}"; do
	st=$(field NESTED-RESULT "$n")
	cs=$(field NESTED-TIME "$n")
	secs=$(awk "BEGIN{printf \"%.2f\", ${cs:-0}/100}")
	if [ "$st" = 0 ]; then
		say "$n: ok (${secs} s)"
		passed=$((passed + 1))
	else
		if [ -z "$st" ]; then
			say "$n: FAILED: no result (timeout or crash)"
		else
			say "$n: FAILED: exit status $st (${secs} s)"
		fi
		if [ -f "$OUT/cmd/$n.log" ]; then
			say "--- last lines of $OUT/cmd/$n.log"
			tail -n 30 "$OUT/cmd/$n.log" | sed 's/^/    /' >&2
		fi
		failed=$((failed + 1))
	fi
done
say "console: $OUT/serial.txt"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
