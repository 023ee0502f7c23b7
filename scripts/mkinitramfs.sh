#!/usr/bin/env bash
# Build a gzip'd newc cpio initramfs from busybox-static for cove's guests and the nested-KVM
# harness. See --help and scripts/README.md.
set -euo pipefail

PROG=${0##*/}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Modules each kind loads, by module name; their dependencies are added in front, in order.
SHELL_MODULES="virtio_mmio virtio_blk virtio_console virtio_net virtio_rng vmw_vsock_virtio_transport"
TEST_MODULES="virtio_mmio virtio_blk virtio_console"
NESTED_MODULES="irqbypass ccp kvm kvm_amd"

usage() {
	cat <<EOF
Usage: $PROG [options] KIND OUT

Builds OUT, a gzip'd newc cpio archive, from busybox-static (/bin/busybox).

KIND:
  shell    interactive guest: a busybox shell on the console (ttyS0) with job control,
           virtio modules loaded when present.
  test     the Linux test guest: prints COVE-LINUX-MARKER, loads virtio_mmio/blk/console,
           prints sha256=<sha256 of /dev/vda> and nproc=<n>, writes COVE-HVC-MARKER to
           /dev/hvc0 if present, then 'poweroff -f'.
  nested   the outer image for tests/nested/run.sh: kvm modules, cove and its shared libraries,
           the inner kernel and initramfs images; its init loads irqbypass ccp kvm kvm-amd,
           checks /dev/kvm, runs /cove/commands and prints 'NESTED-RESULT <name> <status>'.
  overlay  only the files given with --file; append it to another image (the kernel
           unpacks concatenated archives in order, later files win).

Options:
  --kernel-dir DIR      unpacked kernel root (with boot/ and lib/modules/); default: the one
                        scripts/fetch-kernel.sh provides (cached)
  --no-modules          shell/test: put no kernel modules in the image
  --file SRC[:DEST]     add a file (any kind); DEST is an absolute path in the image,
                        default /cove/extra/<basename of SRC>
  nested only:
  --cove PATH           cove binary -> /cove/bin/cove, with every library ldd lists and the loader
  --extra PATH          extra file -> /cove/extra/<basename> (shared libs added if dynamic)
  --inner-kernel PATH   inner guest kernel -> /cove/vmlinuz (default: the fetched vmlinuz)
  --test-initrd PATH    -> /cove/test.cpio.gz (default: built here with KIND test)
  --shell-initrd PATH   -> /cove/shell.cpio.gz (default: built here with KIND shell)
  --disk PATH           -> /cove/disk.img
  --commands FILE       -> /cove/commands: lines 'NAME COMMAND...' run by the init in /cove
                        ('#' lines and blank lines ignored). Without it the init runs nothing.
  --help                this text

The nested init honours these files in the image (the harness puts them in an overlay):
  /cove/commands        as above
  /cove/interactive     a command run with the console as its controlling terminal instead
  /cove/cmd-timeout     seconds each command may take (default 1200)
EOF
}

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

KIND=
OUT=
KERNEL_DIR=
NO_MODULES=0
COVE_BIN=
INNER_KERNEL=
TEST_INITRD=
SHELL_INITRD=
DISK=
COMMANDS=
FILES=()
EXTRAS=()

need_arg() {
	{ [ $# -ge 2 ] && [ -n "$2" ]; } || die "option $1 needs a value"
}

while [ $# -gt 0 ]; do
	case $1 in
	--help | -h)
		usage
		exit 0
		;;
	--kernel-dir)
		need_arg "$@"
		KERNEL_DIR=$2
		shift
		;;
	--no-modules) NO_MODULES=1 ;;
	--file)
		need_arg "$@"
		FILES+=("$2")
		shift
		;;
	--extra)
		need_arg "$@"
		EXTRAS+=("$2")
		shift
		;;
	--cove)
		need_arg "$@"
		COVE_BIN=$2
		shift
		;;
	--inner-kernel)
		need_arg "$@"
		INNER_KERNEL=$2
		shift
		;;
	--test-initrd)
		need_arg "$@"
		TEST_INITRD=$2
		shift
		;;
	--shell-initrd)
		need_arg "$@"
		SHELL_INITRD=$2
		shift
		;;
	--disk)
		need_arg "$@"
		DISK=$2
		shift
		;;
	--commands)
		need_arg "$@"
		COMMANDS=$2
		shift
		;;
	-*) die "unknown option '$1' (try --help)" ;;
	*)
		if [ -z "$KIND" ]; then
			KIND=$1
		elif [ -z "$OUT" ]; then
			OUT=$1
		else
			die "unexpected argument '$1' (try --help)"
		fi
		;;
	esac
	shift
done

{ [ -n "$KIND" ] && [ -n "$OUT" ]; } || die "usage: $PROG [options] KIND OUT (try --help)"
case $KIND in
shell | test | nested | overlay) ;;
*) die "unknown KIND '$KIND' (shell, test, nested or overlay)" ;;
esac
case $KIND in
shell | test)
	{ [ -z "$COVE_BIN$INNER_KERNEL$TEST_INITRD$SHELL_INITRD$DISK$COMMANDS" ] && [ ${#EXTRAS[@]} -eq 0 ]; } ||
		die "--cove, --extra, --inner-kernel, --*-initrd, --disk, --commands are not for KIND $KIND"
	;;
overlay)
	[ -z "$INNER_KERNEL$TEST_INITRD$SHELL_INITRD" ] ||
		die "--inner-kernel, --test-initrd, --shell-initrd are for KIND nested only"
	;;
esac

BUSYBOX=/bin/busybox
if [ "$KIND" != overlay ]; then
	[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"
	file -L "$BUSYBOX" | grep -q 'statically linked' || die "$BUSYBOX is not static (install busybox-static)"
fi
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/cove-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# ---- kernel ------------------------------------------------------------------------------------

KVER=
MODDIR=
load_kernel() {
	if [ -z "$KERNEL_DIR" ]; then
		local env
		env=$("$SCRIPT_DIR/fetch-kernel.sh" --quiet) || die "scripts/fetch-kernel.sh failed"
		KERNEL_DIR=$(echo "$env" | sed -n "s/^COVE_KERNEL_DIR='\(.*\)'$/\1/p")
	fi
	[ -d "$KERNEL_DIR/lib/modules" ] || die "no lib/modules in kernel dir '$KERNEL_DIR'"
	local d
	for d in "$KERNEL_DIR"/lib/modules/*/; do
		[ -d "$d/kernel" ] || continue
		[ -z "$KVER" ] || die "more than one kernel version in $KERNEL_DIR/lib/modules"
		d=${d%/}
		KVER=${d##*/}
	done
	[ -n "$KVER" ] || die "no kernel version under $KERNEL_DIR/lib/modules"
	MODDIR=$KERNEL_DIR/lib/modules/$KVER
}

declare -A MOD_PATH=()
declare -A MOD_DONE=()
MOD_ORDER=()

index_modules() {
	local f n
	command -v modinfo >/dev/null || die "modinfo not found (apt-get install kmod)"
	while IFS= read -r -d '' f; do
		n=${f##*/}
		n=${n%.ko}
		n=${n%.ko.xz}
		MOD_PATH[${n//-/_}]=$f
	done < <(find "$MODDIR/kernel" -name '*.ko' -print0 -o -name '*.ko.xz' -print0)
}

# Depth-first: dependencies (modinfo 'depends') land in MOD_ORDER before the module itself.
resolve_module() {
	local name=${1//-/_} deps dep
	[ -z "${MOD_DONE[$name]:-}" ] || return 0
	MOD_DONE[$name]=1
	if [ -z "${MOD_PATH[$name]:-}" ]; then
		grep -q "/${name}.ko\$\|/${name//_/-}.ko\$" "$MODDIR/modules.builtin" 2>/dev/null && return 0
		die "module '$name' is neither in $MODDIR/kernel nor built in"
	fi
	deps=$(modinfo -F depends "${MOD_PATH[$name]}") || die "modinfo failed on ${MOD_PATH[$name]}"
	for dep in ${deps//,/ }; do
		resolve_module "$dep"
	done
	MOD_ORDER+=("$name")
}

# Modules go flat into /lib/modules/NAME.ko; /lib/modules/load-order lists them in load order.
install_modules() {
	local m
	[ ${#MOD_PATH[@]} -gt 0 ] || index_modules
	for m in "$@"; do
		resolve_module "$m"
	done
	mkdir -p "$STAGE/lib/modules"
	: >"$STAGE/lib/modules/load-order"
	for m in "${MOD_ORDER[@]}"; do
		case ${MOD_PATH[$m]} in
		*.xz) xz -dc "${MOD_PATH[$m]}" >"$STAGE/lib/modules/$m.ko" ;;
		*) cp "${MOD_PATH[$m]}" "$STAGE/lib/modules/$m.ko" ;;
		esac
		echo "$m" >>"$STAGE/lib/modules/load-order"
	done
	echo "$KVER" >"$STAGE/lib/modules/kernel-version"
}

# ---- files ------------------------------------------------------------------------------------

add_file() { # SRC DEST [MODE]
	[ -f "$1" ] || die "file '$1' not found"
	mkdir -p "$STAGE$(dirname "$2")"
	cp -L "$1" "$STAGE$2"
	[ -z "${3:-}" ] || chmod "$3" "$STAGE$2"
}

# Copy the shared libraries ldd reports for an ELF (and the loader) to their absolute paths.
add_libs() {
	local bin=$1 out line lib
	file -L "$bin" | grep -q 'ELF.*dynamically linked' || return 0
	out=$(ldd "$bin" 2>&1) || die "ldd $bin failed: $(echo "$out" | head -n1)"
	if echo "$out" | grep -q 'not found'; then
		die "ldd $bin: missing libraries: $(echo "$out" | grep 'not found' | tr -s ' \t' ' ')"
	fi
	while read -r line; do
		lib=
		case $line in
		*'=> /'*) lib=${line#*=> } ;;
		/*) lib=$line ;;
		esac
		lib=${lib%% (*}
		[ -n "$lib" ] || continue
		[ -e "$STAGE$lib" ] || add_file "$lib" "$lib"
	done <<<"$out"
}

install_busybox() {
	local a
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root}
	chmod 1777 "$STAGE/tmp"
	cp "$BUSYBOX" "$STAGE/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[ "$a" = bin/busybox ] || [ -e "$STAGE/$a" ] || ln -s /bin/busybox "$STAGE/$a"
	done
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null ||
		echo "$PROG: warning: cannot mknod /dev/console (not root?); init reopens it later" >&2
	echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
	echo "root:x:0:" >"$STAGE/etc/group"
	cat >"$STAGE/etc/profile" <<'EOF'
export PATH=/cove/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TERM=${TERM:-linux}
PS1='\h:\w\$ '
EOF
}

# Shared by every init: mounts, stdio on the console, module loading.
write_init_common() {
	cat >"$STAGE/etc/init-common.sh" <<'EOF'
# Sourced by /init (busybox sh).
export PATH=/cove/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
[ -t 1 ] || exec </dev/console >/dev/console 2>&1

load_modules() {
	[ -f /lib/modules/load-order ] || return 0
	while read -r m; do
		# Built-in or already loaded modules make insmod fail with EEXIST; say so and go on.
		out=$(insmod "/lib/modules/$m.ko" 2>&1) || case $out in
		*exists*) ;;
		*) echo "init: insmod $m: $out" ;;
		esac
	done </lib/modules/load-order
}

# uptime in centiseconds, for timings
now_cs() {
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}" | sed 's/^0*//;s/^$/0/'
}
EOF
}

write_init_shell() {
	cat >"$STAGE/init" <<'EOF'
#!/bin/sh
. /etc/init-common.sh
hostname cove-guest
load_modules
echo
echo "cove guest: type 'poweroff -f' to leave"
while :; do
	# setsid + cttyhack: the shell gets the console as its controlling tty, so job control and
	# Ctrl-C work (init itself has no controlling tty).
	setsid cttyhack sh -l
	echo "cove guest: shell exited; starting a new one ('poweroff -f' to leave)"
done
EOF
	chmod 755 "$STAGE/init"
}

write_init_test() {
	cat >"$STAGE/init" <<'EOF'
#!/bin/sh
. /etc/init-common.sh
echo COVE-LINUX-MARKER
load_modules

# Which virtio devices were found (virtio device IDs: 2 block, 3 console).
has_virtio() {
	for d in /sys/bus/virtio/devices/*; do
		[ -f "$d/device" ] || continue
		[ "$(cat "$d/device")" = "$1" ] && return 0
	done
	return 1
}
wait_for() { # PATH TENTHS
	i=0
	while [ ! -e "$1" ] && [ "$i" -lt "$2" ]; do
		usleep 100000
		i=$((i + 1))
	done
	[ -e "$1" ]
}

echo "virtio-devices=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | tr '\n' ' ')"
if has_virtio 0x0002 && wait_for /dev/vda 100; then
	echo "sha256=$(sha256sum /dev/vda | cut -d' ' -f1)"
else
	echo "sha256=none"
	echo "COVE-TEST-ERROR: no /dev/vda"
fi
echo "nproc=$(nproc)"
if has_virtio 0x0003 && wait_for /dev/hvc0 50; then
	echo COVE-HVC-MARKER >/dev/hvc0
	echo "hvc0=yes"
else
	echo "hvc0=no"
fi
echo COVE-LINUX-DONE
sync
poweroff -f
echo "COVE-TEST-ERROR: poweroff -f returned"
while :; do sleep 3600; done
EOF
	chmod 755 "$STAGE/init"
}

write_init_nested() {
	cat >"$STAGE/init" <<'EOF'
#!/bin/sh
. /etc/init-common.sh
hostname cove-nested
t_boot=$(now_cs)
echo "NESTED-BOOTED uptime_cs=$t_boot"
load_modules
dmesg -n 1
finish() {
	echo "NESTED-DONE"
	sync
	poweroff -f
	while :; do sleep 3600; done
}
if [ ! -c /dev/kvm ]; then
	echo "NESTED-ERROR: no /dev/kvm (svm in cpuinfo: $(grep -c -w svm /proc/cpuinfo))"
	dmesg | grep -i -E 'kvm|svm|ccp' | tail -n 20
	echo "NESTED-RESULT kvm-setup 1"
	finish
fi
echo "NESTED-KVM-READY uptime_cs=$(now_cs) modules_cs=$(($(now_cs) - t_boot))"
cd /cove
tmo=1200
[ -f /cove/cmd-timeout ] && tmo=$(cat /cove/cmd-timeout)
if [ -f /cove/interactive ]; then
	echo "NESTED-BEGIN interactive"
	# A session with the console as controlling tty, so cove can put it in raw mode.
	setsid cttyhack sh /cove/interactive
	echo "NESTED-RESULT interactive $?"
	finish
fi
[ -f /cove/commands ] || finish
while read -r name cmd; do
	case $name in '' | '#'*) continue ;; esac
	echo "NESTED-BEGIN $name"
	t0=$(now_cs)
	timeout -s KILL "$tmo" sh -c "$cmd" </dev/null 2>&1
	st=$?
	t1=$(now_cs)
	echo "NESTED-RESULT $name $st"
	echo "NESTED-TIME $name $((t1 - t0))"
done </cove/commands
finish
EOF
	chmod 755 "$STAGE/init"
}

# ---- per kind ---------------------------------------------------------------------------------

build_sub_image() { # KIND OUT
	"$0" ${KERNEL_DIR:+--kernel-dir "$KERNEL_DIR"} "$1" "$2" ||
		die "building the inner $1 image failed"
}

case $KIND in
shell | test)
	install_busybox
	write_init_common
	"write_init_$KIND"
	if [ "$NO_MODULES" = 0 ]; then
		load_kernel
		if [ "$KIND" = shell ]; then
			# shellcheck disable=SC2086
			install_modules $SHELL_MODULES
		else
			# shellcheck disable=SC2086
			install_modules $TEST_MODULES
		fi
	fi
	;;
nested)
	install_busybox
	write_init_common
	write_init_nested
	load_kernel
	# shellcheck disable=SC2086
	install_modules $NESTED_MODULES
	mkdir -p "$STAGE/cove/bin" "$STAGE/cove/extra"
	add_file "${INNER_KERNEL:-$KERNEL_DIR/boot/vmlinuz-$KVER}" /cove/vmlinuz
	if [ -z "$TEST_INITRD" ]; then
		TEST_INITRD=$STAGE/.test.cpio.gz
		build_sub_image test "$TEST_INITRD"
	fi
	if [ -z "$SHELL_INITRD" ]; then
		SHELL_INITRD=$STAGE/.shell.cpio.gz
		build_sub_image shell "$SHELL_INITRD"
	fi
	add_file "$TEST_INITRD" /cove/test.cpio.gz
	add_file "$SHELL_INITRD" /cove/shell.cpio.gz
	rm -f "$STAGE/.test.cpio.gz" "$STAGE/.shell.cpio.gz"
	;;
esac

# The payload: nested images and overlays for them.
if [ -n "$COVE_BIN" ]; then
	[ -x "$COVE_BIN" ] || die "cove binary '$COVE_BIN' not found or not executable"
	add_file "$COVE_BIN" /cove/bin/cove 755
	add_libs "$COVE_BIN"
fi
[ -z "$DISK" ] || add_file "$DISK" /cove/disk.img
[ -z "$COMMANDS" ] || add_file "$COMMANDS" /cove/commands
for e in "${EXTRAS[@]}"; do
	add_file "$e" "/cove/extra/${e##*/}"
	add_libs "$e"
done

for f in "${FILES[@]}"; do
	src=${f%%:*}
	dest=/cove/extra/${src##*/}
	[ "$src" = "$f" ] || dest=${f#*:}
	case $dest in /*) ;; *) die "--file destination '$dest' must be absolute" ;; esac
	add_file "$src" "$dest"
done

mkdir -p "$(dirname "$OUT")"
(cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --reproducible --quiet) | gzip -6 -n >"$OUT.tmp" ||
	die "writing $OUT failed"
mv "$OUT.tmp" "$OUT"
