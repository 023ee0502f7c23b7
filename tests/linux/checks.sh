# SPDX-License-Identifier: MIT
# Sourced by the Linux boot tests: what the test initramfs (scripts/mkinitramfs.sh test) must
# print. linux_checks LOG SHA256 NPROC prints ok/FAIL per line and returns 1 when any failed.
linux_check() { # LOG WHAT LINE
	if grep -qx -- "$3" "$1"; then
		echo "ok   $2"
	else
		echo "FAIL $2: no line '$3' in the guest's output"
		return 1
	fi
}

linux_checks() { # LOG SHA256 NPROC
	local fail=0
	linux_check "$1" marker COVE-LINUX-MARKER || fail=1
	linux_check "$1" disk-checksum "sha256=$2" || fail=1
	linux_check "$1" cpus "nproc=$3" || fail=1
	linux_check "$1" end COVE-LINUX-DONE || fail=1
	return $fail
}
