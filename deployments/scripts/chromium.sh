#!/usr/bin/env bash
# Installs Debian's chromium for the tests that open the /docs page and the
# bench's report.html in a headless browser (tests/browser), when it is
# missing. CHROMIUM_BIN names another binary instead.
#
# Usage: deployments/scripts/chromium.sh install
set -euo pipefail

say() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

install() {
	if [ -n "${CHROMIUM_BIN:-}" ] || command -v chromium >/dev/null; then
		return
	fi
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "chromium is not installed and this script can only install it as root with apt-get."
		say "Install it (Debian: sudo apt-get install chromium), or set CHROMIUM_BIN to a Chromium or Chrome binary."
		exit 1
	fi
	say "installing Debian's chromium with apt-get"
	if ! apt-cache show chromium >/dev/null 2>&1; then
		apt-get update -qq
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
	command -v chromium >/dev/null || die "apt-get did not install chromium"
}

case "${1:-}" in
install) install ;;
*)
	say "usage: $0 install"
	exit 2
	;;
esac
