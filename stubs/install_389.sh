#!/bin/sh
# Install what stubs/dirsrv389.py needs to run a real 389 Directory Server (as root).
exec sh "$(dirname "$0")/install_debs.sh" 389-ds-base python3-lib389 ldap-utils libnss3-tools openssl
