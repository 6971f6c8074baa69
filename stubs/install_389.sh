#!/bin/sh
# Install what stubs/dirsrv389.py needs to run a real 389 Directory Server.
# Idempotent: does nothing when everything is already there. Must run as root.
set -eu

PACKAGES="389-ds-base python3-lib389 ldap-utils libnss3-tools openssl"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install_389: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_389: need root to install:$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once when none exist yet or the install fails on stale ones.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    apt-get update -q
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -q --no-install-recommends $missing; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
fi
echo "install_389: installed$missing"
