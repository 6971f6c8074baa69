#!/bin/sh
# Install what the OCF tests need (as root): Pacemaker and Corosync for stubs/cluster.py,
# ocf-tester (resource-agents) with xmllint, crmsh for loading the sample configurations.
exec sh "$(dirname "$0")/install_debs.sh" pacemaker corosync pacemaker-cli-utils \
    resource-agents crmsh libxml2-utils
