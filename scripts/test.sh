#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs all of cove's tests:
# installs the dependencies, builds into build/, runs `meson test`.
# Extra arguments go to `meson test` (e.g. --suite unit). Longer suites are
# behind -Dlong_tests=true: COVE_LONG_TESTS=1 bash scripts/test.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash scripts/deps.sh
# The distribution kernel: the bzImage loader test and the nested-KVM tests boot it.
eval "$(bash scripts/fetch-kernel.sh)"
export COVE_VMLINUZ
long=false
[ "${COVE_LONG_TESTS:-0}" = 1 ] && long=true
if [ -f build/build.ninja ]; then
	meson configure build -Dlong_tests=$long >/dev/null
else
	meson setup build -Dlong_tests=$long >/dev/null
fi
echo "test: building"
ninja -C build
echo "test: running"
meson test -C build --print-errorlogs --num-processes 2 "$@"
