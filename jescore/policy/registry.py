"""The resource types this suite provides, by their VCS type name."""

from __future__ import annotations

from jescore.policy import sunjesadm, sunjesldap, sunjesmsg
from jescore.policy.resource import ResourcePolicy

POLICIES: dict[str, ResourcePolicy] = {
    sunjesmsg.DECLARATION.type_name: sunjesmsg.POLICY,
    sunjesadm.DECLARATION.type_name: sunjesadm.POLICY,
    sunjesldap.DECLARATION.type_name: sunjesldap.POLICY,
}
