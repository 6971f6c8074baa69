#!/bin/sh
# Install the real mail servers the native probes' tests and the demo run: Dovecot (IMAP,
# POP3, LMTP) and Postfix (SMTP). Idempotent: does nothing when all are there. As root.
set -eu

if [ "$(id -u)" -eq 0 ]; then
    # Postfix asks what kind of mail system this is: none; the tests write their own config.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
exec sh "$(dirname "$0")/install_debs.sh" dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl
