#!/usr/bin/env bash
# Runs Mailpit, the SMTP server the tests send mail to, for trying copnet's mail by hand:
#   scripts/mailpit.sh            # SMTP on 127.0.0.1:1025, its web UI on http://127.0.0.1:8025
#   COPNET_SMTP_URL=smtp://127.0.0.1:1025 COPNET_MAIL_FROM=copnet@localhost make run
# It builds Mailpit from its module once, into the cache directory pkg/testkit uses (and
# under the same lock), so the tests and this script share one binary. Extra arguments go
# to Mailpit (mailpit --help).
set -euo pipefail

version=v1.33.1 # pkg/testkit.MailpitVersion; TestMailpitScriptBuildsTheTestsVersion keeps them equal
smtp="${MAILPIT_SMTP:-127.0.0.1:1025}"
http="${MAILPIT_HTTP:-127.0.0.1:8025}"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/copnet/bin/mailpit-$version"
bin="$dir/mailpit"

build() {
	[ -x "$bin" ] && return 0 # built while this one waited for the lock
	tmp=$(mktemp -d "$dir/build-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "building Mailpit $version once (a minute or two)..." >&2
	(cd "$tmp" && GOBIN="$tmp" GOWORK=off GOFLAGS= go install "github.com/axllent/mailpit@$version")
	mv "$tmp/mailpit" "$bin"
}

if [ ! -x "$bin" ]; then
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9
	build
	flock -u 9
fi
exec "$bin" --smtp "$smtp" --listen "$http" --disable-version-check --smtp-disable-rdns "$@"
