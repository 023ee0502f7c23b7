#!/bin/sh
# SPDX-License-Identifier: MIT
# Every bad input to `cove run` gets exactly one line on stderr naming the input and the reason,
# a non-zero exit status (2: bad input) and no crash.
#
#   bad-input.sh [--stage early|loader] [--accel NAME] COVE_BINARY
#
# early:  inputs cove rejects before it picks an accelerator (runs anywhere).
# loader: inputs only the boot loader can judge, under a working accelerator (--accel NAME, default
#         auto: the nested-KVM harness runs this stage on KVM, meson on the host with soft).
#         COVE_TEST_KERNEL names a kernel for the RAM-too-small case.
# POSIX sh on purpose: the loader stage runs under busybox.
set -u

stage=early
accel=auto
while [ $# -gt 1 ]; do
	case $1 in
	--stage) stage=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { sed -n '3,12p' "$0" >&2; exit 2; }
cove=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cove-bad-input.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

pass=0
fail=0
# expect NAME 'REGEX' ARGS...: cove run ARGS must exit 2 with one stderr line matching REGEX.
expect() {
	name=$1
	want=$2
	shift 2
	"$cove" run "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
	lines=$(wc -l <"$tmp/err" | tr -d ' ')
	if [ "$st" = 2 ] && [ "$lines" = 1 ] && grep -Eq -- "$want" "$tmp/err" && [ ! -s "$tmp/out" ]; then
		pass=$((pass + 1))
		echo "ok   $name: $(cat "$tmp/err")"
	else
		fail=$((fail + 1))
		echo "FAIL $name: status $st (want 2), $lines stderr line(s) (want 1 matching '$want'):"
		sed 's/^/    /' "$tmp/err"
		[ -s "$tmp/out" ] && { echo "    stdout:"; sed 's/^/    /' "$tmp/out"; }
	fi
}

printf 'not a kernel at all\n' >"$tmp/text"
case $stage in
early)
	printf '[vm]\nkernel=%s\nbogus=1\n' "$tmp/text" >"$tmp/unknown-key.conf"
	printf '[vm]\nkernel=%s\nmemory=12Q\n' "$tmp/text" >"$tmp/bad-size.conf"
	mkdir "$tmp/dir"
	expect missing-kernel '--kernel .*/nope: No such file' --kernel "$tmp/nope"
	expect kernel-is-directory '--kernel .*/dir: is a directory' --kernel "$tmp/dir"
	expect missing-initrd '--initrd .*/nope: No such file' --kernel "$tmp/text" --initrd "$tmp/nope"
	expect missing-disk '--disk .*/nope: No such file' --kernel "$tmp/text" --disk "$tmp/nope"
	expect memory-12Q "--memory 12Q: unknown size suffix 'Q'" --kernel "$tmp/text" --memory 12Q
	expect memory-0 '--memory 0: must be greater than 0' --kernel "$tmp/text" --memory 0
	expect cpus-0 '--cpus 0: out of range \(1-64\)' --kernel "$tmp/text" --cpus 0
	expect cpus-65 '--cpus 65: out of range \(1-64\)' --kernel "$tmp/text" --cpus 65
	expect cpus-junk '--cpus 2x' --kernel "$tmp/text" --cpus 2x
	expect unknown-config-key "unknown-key.conf: unknown key 'bogus'" --config "$tmp/unknown-key.conf"
	expect config-bad-size "12Q: unknown size suffix" --config "$tmp/bad-size.conf"
	expect missing-config 'nope.conf' --config "$tmp/nope.conf"
	expect no-kernel 'kernel' --memory 64M
	expect unknown-flag 'unknown option --frobnicate|frobnicate' --kernel "$tmp/text" --frobnicate
	expect bad-accel '--accel warp' --kernel "$tmp/text" --accel warp
	expect console-unix-empty '--console unix:: empty socket path' --kernel "$tmp/text" --console unix:
	expect vconsole-unix-empty '--virtio-console unix:: empty socket path' --kernel "$tmp/text" \
		--virtio-console unix:
	expect console-unix-no-dir '--console unix:.*/nodir/s: No such file or directory' \
		--kernel "$tmp/text" --console "unix:$tmp/nodir/s"
	expect console-unix-regular-file '--console unix:.*/text: exists and is not a socket' \
		--kernel "$tmp/text" --console "unix:$tmp/text"
	expect monitor-no-dir '--monitor .*/nodir/m: No such file or directory' --kernel "$tmp/text" \
		--monitor "$tmp/nodir/m"
	expect monitor-regular-file '--monitor .*/text: exists and is not a socket' \
		--kernel "$tmp/text" --monitor "$tmp/text"
	expect pidfile-no-dir '--pidfile .*/nodir/p: No such file or directory' --kernel "$tmp/text" \
		--pidfile "$tmp/nodir/p"
	expect memory-block-3M '--memory-block 3M: not a power of two' --kernel "$tmp/text" \
		--memory-file "$tmp/ram" --memory-block 3M
	expect memory-block-32K '--memory-block 32K: out of range \(64K to 1G\)' --kernel "$tmp/text" \
		--memory-file "$tmp/ram" --memory-block 32K
	expect memory-block-2G '--memory-block 2G: out of range' --kernel "$tmp/text" \
		--memory-file "$tmp/ram" --memory-block 2G
	expect memory-resident-below-block '--memory-resident 1024K: smaller than one block' \
		--kernel "$tmp/text" --memory-file "$tmp/ram" --memory-resident 1M
	expect memory-resident-junk "--memory-resident 5Q: unknown size suffix 'Q'" \
		--kernel "$tmp/text" --memory-file "$tmp/ram" --memory-resident 5Q
	expect memory-block-needs-file '--memory-block: needs --memory-file' --kernel "$tmp/text" \
		--memory-block 4M
	expect memory-not-multiple-of-block '--memory 3072K: not a multiple of the block size' \
		--kernel "$tmp/text" --memory-file "$tmp/ram" --memory 3M
	if [ ! -e /dev/kvm ]; then
		expect accel-kvm-without-kvm '--accel kvm: .*/dev/kvm.*--accel soft' \
			--kernel "$tmp/text" --accel kvm
	fi
	;;
loader)
	dd if=/dev/zero of="$tmp/zeros" bs=1024 count=64 2>/dev/null
	# A bzImage header (boot.rst: setup_sects at 0x1f1, boot_flag 0xaa55 at 0x1fe, "HdrS" and
	# version 2.15 at 0x202) that promises 32 setup sectors in a file of 520 bytes.
	{
		dd if=/dev/zero bs=497 count=1 2>/dev/null
		printf '\040'
		dd if=/dev/zero bs=12 count=1 2>/dev/null
		printf '\125\252\000\000HdrS\017\002'
	} >"$tmp/short-bz"
	dd if=/dev/zero of="$tmp/big-initrd" bs=1024 count=8192 2>/dev/null
	expect text-kernel 'text: not a bootable kernel: no bzImage setup header .* no multiboot header' \
		--accel "$accel" --kernel "$tmp/text"
	expect zero-kernel 'zeros: not a bootable kernel' --accel "$accel" --kernel "$tmp/zeros"
	expect truncated-bzimage 'short-bz: .*truncated' --accel "$accel" --kernel "$tmp/short-bz"
	[ -n "${COVE_TEST_KERNEL:-}" ] || { echo "bad-input.sh: loader stage needs COVE_TEST_KERNEL" >&2; exit 2; }
	dd if=/dev/zero of="$tmp/ram-1m" bs=1024 count=1024 2>/dev/null
	expect memory-file-wrong-size '--memory-file .*ram-1m: is 1048576 bytes, but the guest RAM is 67108864' \
		--accel "$accel" --kernel "$COVE_TEST_KERNEL" --memory 64M --memory-file "$tmp/ram-1m"
	expect memory-too-small 'guest RAM too small' --accel "$accel" --kernel "$COVE_TEST_KERNEL" \
		--initrd "$tmp/big-initrd" --memory 4M
	;;
*)
	echo "bad-input.sh: --stage early|loader" >&2
	exit 2
	;;
esac
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
