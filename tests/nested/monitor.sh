#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/cli/monitor.sh on real KVM (inside the nested harness): console socket, pause and resume
# of a KVM vCPU, bad monitor lines, powerdown and quit, with the powerbtn guest and socat.
#
#   monitor.sh COVE_BINARY POWERBTN.elf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { sed -n '3,7p' "$0" >&2; exit 2; }
socat=$(command -v socat) || { echo "monitor.sh: socat is missing (scripts/deps.sh)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cove-nested-monitor.XXXXXX")
trap 'rm -rf "$work"' EXIT

rc=0
bash "$here/run.sh" --cmd-timeout 300 --cove "$1" --out "$work/out" --extra "$socat" \
	--extra "$here/../cli/monitor.sh" --extra "$2" \
	--cmd 'monitor PATH=/cove/extra:$PATH sh extra/monitor.sh --accel kvm ./bin/cove extra/powerbtn.elf' ||
	rc=1
cat "$work/out/cmd/monitor.log" 2>/dev/null || { echo "FAIL: no log from the nested VM"; rc=1; }
exit $rc
