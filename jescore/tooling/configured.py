"""A resource of a main.cf as VCS would call it: the argument vector its entry points get.

Used by `jesagent explain --config` and `jesagent doctor --config`: the type's ArgList,
values localised for a system, and AEPTimeout when the type sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from jescore.policy.declaration import Declaration, Raw
from jescore.policy.vcs import DEFAULT_TIMEOUT_SECONDS, CleanReason, EntryPoint
from jescore.record import record
from jescore.result import Failure, Result, Success
from jescore.tooling.vcsconf import values_for
from jescore.tooling.vcsconf_model import Configuration, Resource, TypeDef

_COUNT = re.compile(r"^[0-9]{1,6}$")


_TIMEOUT_ATTR = {
    EntryPoint.ONLINE: "OnlineTimeout",
    EntryPoint.OFFLINE: "OfflineTimeout",
    EntryPoint.MONITOR: "MonitorTimeout",
    EntryPoint.CLEAN: "CleanTimeout",
}
DEFAULT_MONITOR_INTERVAL = 60  # VCS's MonitorInterval when the type does not set it


@record
class ConfiguredCall:
    """What VCS would pass the entry point of one resource of a configuration."""

    type_name: str
    resource: str
    group: str
    argv: tuple[str, ...]
    monitor_interval: int


def sunjes_resources(conf: Configuration, types: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(group, resource) of every resource of one of the given types, in file order."""
    wanted = frozenset(types)
    return tuple((g.name, r.name) for g, r in conf.resources() if r.type_name in wanted)


def configured_call(
    conf: Configuration,
    decl_of: Mapping[str, Declaration],
    resource: str,
    entry: EntryPoint,
    *,
    system: str | None = None,
    reason: CleanReason | None = None,
) -> Result[ConfiguredCall, str]:
    """The V50 argument vector VCS would build for a resource of the configuration: the
    type's ArgList, values localised for `system`, and AEPTimeout when the type sets it."""
    found = [(g, r) for g, r in conf.resources() if r.name == resource]
    if not found:
        known = ", ".join(r for _, r in sunjes_resources(conf, decl_of)) or "none"
        return Failure(f"no resource {resource!r} in the configuration (SunJES ones: {known})")
    group, res = found[0]
    decl = decl_of.get(res.type_name)
    if decl is None:
        return Failure(f"{resource} is of type {res.type_name}, not one of {', '.join(decl_of)}")
    values = values_for(decl, res, system)
    typedef = conf.type_def(res.type_name)
    zoned = bool("".join(values.get("ContainerName", ())))
    arglist = typedef.arglist if typedef is not None else decl.arglist_for(zones=zoned)
    argv: list[str] = [res.name]
    if reason is not None:
        argv.append(str(int(reason)))
    for name in arglist:
        attr = decl.attr(name)
        if attr is not None:
            raw = values.get(name, _type_default(typedef, name, attr.default))
        elif name == "LogDbg":
            raw = _engine_value(res, typedef, name, ())
        else:
            continue  # State, IState and the like: the agent reads nothing from them
        argv += [name, str(len(raw)), *raw]
    if _engine_value(res, typedef, "AEPTimeout", ("0",)) == ("1",):
        default = (str(DEFAULT_TIMEOUT_SECONDS[entry]),)
        argv += ["AEPTimeout", "1", *_engine_value(res, typedef, _TIMEOUT_ATTR[entry], default)]
    interval = _engine_value(res, typedef, "MonitorInterval", (str(DEFAULT_MONITOR_INTERVAL),))
    every = int(interval[0]) if interval and _COUNT.match(interval[0]) else DEFAULT_MONITOR_INTERVAL
    return Success(ConfiguredCall(res.type_name, res.name, group.name, tuple(argv), every))


def _type_default(typedef: TypeDef | None, name: str, fallback: Raw) -> Raw:
    declared = typedef.attr(name) if typedef is not None else None
    return declared.default if declared is not None else fallback


def _engine_value(res: Resource, typedef: TypeDef | None, name: str, fallback: Raw) -> Raw:
    """A static or engine attribute: the resource's override, else the type's value."""
    if name in res.values:
        return res.values[name]
    return _type_default(typedef, name, fallback)
