#!/usr/bin/env bash
# Installs every package cove needs to build, test and run its guests on Debian 12.
# Idempotent: packages already present are not fetched again. Needs root (or sudo).
set -euo pipefail

PKGS=(
	# build
	gcc gcc-multilib meson ninja-build pkg-config libglib2.0-dev libzydis-dev
	# unit tests (iasl checks the ACPI tables cove builds)
	check acpica-tools
	# cli tests: the console and monitor sockets
	socat
	# block RAM: helgrind over the block table, peak RSS of the memsweep tests
	valgrind time
	# reference emulator, nested-KVM harness, guest images
	qemu-system-x86 busybox-static cpio gzip kmod bc
	# management (coved, virsh tests)
	libxml2-dev libvirt-clients
	# coved tests: systemd-analyze verify on configs/, script(1) for virsh console
	systemd bsdutils man-db procps
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
