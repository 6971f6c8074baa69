#!/bin/sh
# Install the Debian packages named as arguments, for the tests' real servers.
# Idempotent: does nothing when everything is already there. Must run as root.
#   sh stubs/install_debs.sh PACKAGE...
set -eu

PACKAGES="$*"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install_debs: present: $PACKAGES"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_debs: need root to install:$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once when none exist yet or the install fails on stale ones.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    apt-get update -q
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
fi
echo "install_debs: installed$missing"
