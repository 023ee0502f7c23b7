#!/usr/bin/env bash
# Fetch Debian's distribution kernel (linux-image-amd64 -> linux-image-<ver>-amd64) into the
# cache and unpack it there. Prints shell-sourceable KEY='value' lines on stdout:
#   eval "$(scripts/fetch-kernel.sh)"; echo "$COVE_VMLINUZ"
set -euo pipefail

PROG=${0##*/}
META_PKG=linux-image-amd64

usage() {
	cat <<EOF
Usage: $PROG [--offline] [--quiet] [--help]

Downloads Debian's $META_PKG (resolved to the versioned linux-image-*-amd64 package) with
'apt-get download' into \${COVE_CACHE:-<repo>/build/cache}/kernel/<version>/, unpacks it with
dpkg-deb and prints, on stdout, shell-sourceable lines:

  COVE_KERNEL_VERSION='6.1.0-NN-amd64'
  COVE_VMLINUZ='<cache>/kernel/<version>/root/boot/vmlinuz-<version>'
  COVE_MODULES_DIR='<cache>/kernel/<version>/root/lib/modules/<version>'
  COVE_KERNEL_DIR='<cache>/kernel/<version>/root'

An unpacked kernel already in the cache is reused. With --offline (or when apt cannot resolve
the package) the newest cached kernel is used without asking apt.

  --offline   never call apt; use the newest cached kernel
  --quiet     no progress messages on stderr
  --help      this text
EOF
}

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

OFFLINE=0
QUIET=0
while [ $# -gt 0 ]; do
	case $1 in
	--offline) OFFLINE=1 ;;
	--quiet | -q) QUIET=1 ;;
	--help | -h)
		usage
		exit 0
		;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

say() {
	[ "$QUIET" = 1 ] || echo "$PROG: $*" >&2
}

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/.." && pwd))
CACHE=${COVE_CACHE:-$REPO/build/cache}
KDIR_BASE=$CACHE/kernel

emit() {
	local ver=$1 root=$KDIR_BASE/$1/root
	[ -f "$root/boot/vmlinuz-$ver" ] || die "cache entry $KDIR_BASE/$ver has no boot/vmlinuz-$ver"
	[ -d "$root/lib/modules/$ver" ] || die "cache entry $KDIR_BASE/$ver has no lib/modules/$ver"
	printf "COVE_KERNEL_VERSION='%s'\n" "$ver"
	printf "COVE_VMLINUZ='%s'\n" "$root/boot/vmlinuz-$ver"
	printf "COVE_MODULES_DIR='%s'\n" "$root/lib/modules/$ver"
	printf "COVE_KERNEL_DIR='%s'\n" "$root"
}

newest_cached() {
	local d
	for d in "$KDIR_BASE"/*/.complete; do
		[ -e "$d" ] || continue
		d=${d%/.complete}
		echo "${d##*/}"
	done | sort -V | tail -n1
}

# Resolve linux-image-amd64 to the versioned package it depends on.
resolve_pkg() {
	local dep
	dep=$(apt-cache depends "$META_PKG" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
	echo "$dep"
}

if [ "$OFFLINE" = 1 ]; then
	ver=$(newest_cached)
	[ -n "$ver" ] || die "--offline given but no kernel in $KDIR_BASE"
	say "using cached kernel $ver (offline)"
	emit "$ver"
	exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (Debian host needed, or use --offline)"

pkg=$(resolve_pkg)
if [ -z "$pkg" ]; then
	say "apt lists do not know $META_PKG; running apt-get update"
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve_pkg)
fi
if [ -z "$pkg" ]; then
	ver=$(newest_cached)
	[ -n "$ver" ] || die "cannot resolve $META_PKG with apt and no kernel is cached in $KDIR_BASE"
	say "apt cannot resolve $META_PKG; using cached kernel $ver"
	emit "$ver"
	exit 0
fi

ver=${pkg#linux-image-}
dest=$KDIR_BASE/$ver
if [ -e "$dest/.complete" ]; then
	say "reusing cached kernel $ver"
	emit "$ver"
	exit 0
fi

say "downloading $pkg"
mkdir -p "$KDIR_BASE"
tmp=$(mktemp -d "$KDIR_BASE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory; _apt cannot write to a mktemp dir, so let
# it fall back to root without the sandbox warning.
if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >"$tmp/apt.log" 2>&1); then
	tail -n 5 "$tmp/apt.log" >&2
	die "apt-get download $pkg failed"
fi
deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
[ -n "$deb" ] || die "apt-get download produced no ${pkg}_*.deb"

say "unpacking $(basename "$deb")"
mkdir -p "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
[ -f "$tmp/root/boot/vmlinuz-$ver" ] || die "$pkg has no boot/vmlinuz-$ver"
[ -d "$tmp/root/lib/modules/$ver" ] || die "$pkg has no lib/modules/$ver"
rm -f "$deb"
rm -f "$tmp/apt.log"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
touch "$dest/.complete"
emit "$ver"
