#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests use is reachable: COPNET_TEST_DATABASE_URL if set,
# else postgres@127.0.0.1:5432 with trust auth. Starts an installed but stopped server;
# with --install (CI), installs PostgreSQL from Debian's packages when it is missing.
set -euo pipefail

url="${COPNET_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
install=no
[ "${1:-}" = "--install" ] && install=yes

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

reachable() {
	if command -v psql >/dev/null 2>&1; then
		psql "$url" -Atqc 'select 1' >/dev/null 2>&1
	else
		command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432
	fi
}

reachable && exit 0

if [ -n "${COPNET_TEST_DATABASE_URL:-}" ]; then
	echo "ensure-postgres: COPNET_TEST_DATABASE_URL is set but not reachable: fix it or unset it" >&2
	exit 1
fi

fresh=no
if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	if [ "$install" != yes ]; then
		echo "ensure-postgres: PostgreSQL is not installed. Install it (apt-get install postgresql)" >&2
		echo "or point COPNET_TEST_DATABASE_URL at a server with trust auth for the tests." >&2
		exit 1
	fi
	echo "ensure-postgres: installing PostgreSQL"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq
	as_root apt-get install -y -qq postgresql >/dev/null
	fresh=yes
fi

if command -v pg_lsclusters >/dev/null 2>&1; then
	if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
		ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
		as_root pg_createcluster "$ver" main >/dev/null
		fresh=yes
	fi
	read -r ver name port status _ < <(pg_lsclusters -h | head -1)
	if [ "$fresh" = yes ]; then
		# The tests connect over loopback as postgres without a password; a cluster this
		# script created is a test cluster, so trust loopback there.
		hba="/etc/postgresql/$ver/$name/pg_hba.conf"
		as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
	fi
	if [ "$status" != online ]; then
		echo "ensure-postgres: starting PostgreSQL $ver/$name"
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
	else
		as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
	fi
fi

for _ in $(seq 1 60); do
	reachable && exit 0
	sleep 1
done
echo "ensure-postgres: PostgreSQL does not answer at $url (trust auth for user postgres is expected)" >&2
exit 1
