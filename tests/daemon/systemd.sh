#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd-analyze verify on configs/coved.socket, coved.service and cove@.service (as the
# instance cove@demo.service). The units in configs/ name the installed binaries (/usr/bin/);
# verify checks that ExecStart= exists, so the units are checked as copies that name this
# build's binaries instead, with a MANPATH holding man/ so that Documentation=man:... resolves.
# Any other difference (a typo, an unknown key, a bad value) fails here.
#   systemd.sh CONFIGS_DIR MAN_DIR BUILD_SRC_DIR
set -u
[ $# -eq 3 ] || { sed -n '3,8p' "$0" >&2; exit 2; }
configs=$1 mandir=$2 bin=$3
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (systemd, scripts/deps.sh)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/coved-units.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0

mkdir -p "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
cp "$mandir/cove.1" "$tmp/man/man1/" && cp "$mandir/cove.conf.5" "$tmp/man/man5/" && cp "$mandir/coved.8" "$tmp/man/man8/" || exit 2
for u in coved.socket coved.service cove@.service; do
	[ "$u" = coved.socket ] || grep -q '/usr/bin/' "$configs/$u" || { echo "FAIL $u names no /usr/bin/ binary"; fail=1; }
	sed "s|/usr/bin/|$bin/|g" "$configs/$u" >"$tmp/$u"
done
cp "$tmp/cove@.service" "$tmp/cove@demo.service"
for u in coved.socket coved.service cove@demo.service; do
	if out=$(cd "$tmp" && MANPATH="$tmp/man" systemd-analyze verify "./$u" 2>&1) && [ -z "$out" ]; then
		echo "ok   systemd-analyze verify $u"
	else
		echo "FAIL systemd-analyze verify $u: $out"
		fail=1
	fi
done
# and a unit with a mistake is caught, so the check above can fail at all
sed 's/^Type=notify/Type=notifyy/' "$tmp/coved.service" >"$tmp/broken.service"
if (cd "$tmp" && MANPATH="$tmp/man" systemd-analyze verify ./broken.service >/dev/null 2>&1) &&
	[ -z "$(cd "$tmp" && MANPATH="$tmp/man" systemd-analyze verify ./broken.service 2>&1)" ]; then
	echo "FAIL a unit with Type=notifyy passed verify"
	fail=1
else
	echo "ok   a broken unit is reported"
fi
exit $fail
