#!/usr/bin/env bash
# Makes sure PostgreSQL's server programs (initdb, pg_ctl) are on the
# machine, for the store's tests: from Debian's packages when missing.
set -euo pipefail
have() {
    command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if have; then
    exit 0
fi
echo "installing PostgreSQL's server (Debian package postgresql) for the store tests"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq postgresql >/dev/null
have
