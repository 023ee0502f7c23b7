#!/usr/bin/env bash
# cove's main job on a fresh Debian 12 machine: install what is needed, build cove, fetch Debian's
# kernel, build a busybox initramfs and boot it to a shell on this terminal.
#
#   bash scripts/boot.sh [--nested] [COVE RUN OPTIONS...]
#
# With a usable /dev/kvm cove runs right here on KVM. Without one (these machines), the guest
# runs on real KVM inside the nested harness (tests/nested/run.sh: QEMU TCG with kvm-amd); the
# soft accelerator will take over here once it lands. In the guest, 'poweroff -f' ends it all;
# Ctrl-A x quits cove at once. Extra options go to 'cove run' (e.g. --cpus 2 --memory 1G).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

nested=0
if [ "${1:-}" = --nested ]; then
	nested=1
	shift
fi
case "${1:-}" in -h | --help)
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
eval "$(bash scripts/fetch-kernel.sh)"
export COVE_CACHE=${COVE_CACHE:-$repo/build/cache}

if [ "$nested" = 0 ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	shell=$COVE_CACHE/shell-$COVE_KERNEL_VERSION.cpio.gz
	[ -f "$shell" ] || bash scripts/mkinitramfs.sh --kernel-dir "$COVE_KERNEL_DIR" shell "$shell"
	exec build/src/cove run --kernel "$COVE_VMLINUZ" --initrd "$shell" --memory 512M "$@"
fi

echo "boot: no usable /dev/kvm here: booting the guest on KVM inside the nested harness" >&2
echo "boot: (QEMU TCG outer VM; the first boot takes about a minute)" >&2
exec bash tests/nested/run.sh --timeout 86400 --cmd-timeout 86400 \
	--interactive "./bin/cove run --kernel vmlinuz --initrd shell.cpio.gz --memory 512M $*"
