#!/bin/sh
# Install the real mail servers the native probes' tests and the demo run: Dovecot (IMAP,
# POP3, LMTP) and Postfix (SMTP). Idempotent: does nothing when all are there. As root.
set -eu

PACKAGES="dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install_mail: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_mail: need root to install:$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail system this is: none; the tests write their own config.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    apt-get update -q
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
fi
echo "install_mail: installed$missing"
