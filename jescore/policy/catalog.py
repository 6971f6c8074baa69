"""Which module of jescore.policy holds each resource type, by its VCS type name.

An entry point loads only its own type's module (every VCS call is a new process, and
the cost of loading modules is most of a monitor's); jescore.policy.registry loads all.
"""

from __future__ import annotations

TYPE_MODULES: dict[str, str] = {
    "SunJESMsg": "jescore.policy.sunjesmsg",
    "SunJESAdm": "jescore.policy.sunjesadm",
    "SunJESLDAP": "jescore.policy.sunjesldap",
}
