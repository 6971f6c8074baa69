"""The OCF resource-agent contract (Pacemaker), as data: the actions, the exit codes, which
situation answers which code, how a call's environment reads, and the default timeouts.

Pacemaker calls `<agent> <action>` with the resource's parameters in the environment as
OCF_RESKEY_<name> (the VCS attribute names), the operation's timeout and interval in
OCF_RESKEY_CRM_meta_timeout and OCF_RESKEY_CRM_meta_interval (milliseconds), and the
monitor depth in OCF_CHECK_LEVEL. Everything here is pure: the shell hands over the
environment as a mapping.
"""

from __future__ import annotations

import enum

from jescore.policy.declaration import Dimension
from jescore.policy.vcs import DEFAULT_TIMEOUT_SECONDS, EntryPoint
from jescore.record import field, record
from jescore.result import Failure, Result, Success
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jescore.policy.declaration import Attr, Declaration, Raw


class OcfAction(enum.Enum):
    START = "start"
    STOP = "stop"
    MONITOR = "monitor"
    VALIDATE_ALL = "validate-all"
    META_DATA = "meta-data"
    USAGE = "usage"


class OcfCode(enum.IntEnum):
    """The OCF exit codes this agent answers (8 and 9, promoted, are never answered)."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7


class Situation(enum.Enum):
    """What an OCF call found; ANSWERS says which code each one answers."""

    RUNNING = "monitor: the resource runs and is healthy; start: it is online"
    VALID = "validate-all: the parameters are valid and the start program is on this node"
    STOPPED = "stop: no process of the resource runs any more (or none ran)"
    NOT_RUNNING = "monitor: no process of the resource runs, on a probe too"
    FAILED = "monitor: some processes run but the resource is not healthy"
    UNKNOWN = "monitor: the verdict could not be reached (out of time, a probe undecided)"
    START_FAILED = "start: the start command failed or the resource did not come up in time"
    STOP_FAILED = "stop: processes of the resource would not stop, even with SIGKILL"
    BAD_PARAMETERS = "a parameter is missing, or its value is invalid on every node"
    NOT_INSTALLED = "start or validate-all: the start program is not on this node"
    NOT_CALLED_RIGHT = "no action given, or OCF_RESOURCE_INSTANCE unset"
    UNIMPLEMENTED = "an action this agent does not have (notify, promote, demote, reload...)"
    INTERNAL_ERROR = "the agent itself failed, or ran out of time"


# The exit-code table, read by the OCF front end and by docs/pacemaker.md.
ANSWERS: dict[Situation, OcfCode] = {
    Situation.RUNNING: OcfCode.SUCCESS,
    Situation.VALID: OcfCode.SUCCESS,
    Situation.STOPPED: OcfCode.SUCCESS,
    Situation.NOT_RUNNING: OcfCode.NOT_RUNNING,
    Situation.FAILED: OcfCode.ERR_GENERIC,
    Situation.UNKNOWN: OcfCode.ERR_GENERIC,
    Situation.START_FAILED: OcfCode.ERR_GENERIC,
    Situation.STOP_FAILED: OcfCode.ERR_GENERIC,
    Situation.BAD_PARAMETERS: OcfCode.ERR_CONFIGURED,
    Situation.NOT_INSTALLED: OcfCode.ERR_INSTALLED,
    Situation.NOT_CALLED_RIGHT: OcfCode.ERR_ARGS,
    Situation.UNIMPLEMENTED: OcfCode.ERR_UNIMPLEMENTED,
    Situation.INTERNAL_ERROR: OcfCode.ERR_GENERIC,
}

# The VCS entry point each action plays in the core: which attributes it may go on
# without, and what its budget defaults to.
ENTRY_OF: dict[OcfAction, EntryPoint] = {
    OcfAction.START: EntryPoint.ONLINE,
    OcfAction.STOP: EntryPoint.OFFLINE,
    OcfAction.MONITOR: EntryPoint.MONITOR,
    OcfAction.VALIDATE_ALL: EntryPoint.MONITOR,
}

# The timeouts meta-data advertises, in seconds: VCS's own defaults for the same work,
# so that one budget table serves both engines.
DEFAULT_TIMEOUTS: dict[OcfAction, int] = {
    OcfAction.START: DEFAULT_TIMEOUT_SECONDS[EntryPoint.ONLINE],
    OcfAction.STOP: DEFAULT_TIMEOUT_SECONDS[EntryPoint.OFFLINE],
    OcfAction.MONITOR: DEFAULT_TIMEOUT_SECONDS[EntryPoint.MONITOR],
    OcfAction.VALIDATE_ALL: 30,
    OcfAction.META_DATA: 5,
}

# At this OCF_CHECK_LEVEL and above, every monitor runs the second level (the synthetic
# transactions): Pacemaker's separate monitor operations, each with its own interval,
# take the place of SecondLevelMonitor's cycle count.
SECOND_LEVEL_DEPTH = 10
# The monitor operations meta-data suggests: (depth, interval in seconds).
MONITOR_OPERATIONS: tuple[tuple[int, int], ...] = ((0, 60), (SECOND_LEVEL_DEPTH, 300))

# Attributes that are VCS's alone: not OCF parameters, ignored with this reason if given.
VCS_ONLY: dict[str, str] = {
    "SecondLevelMonitor": f"a monitor operation with OCF_CHECK_LEVEL={SECOND_LEVEL_DEPTH} "
    "and its own interval takes its place under Pacemaker",
}

ZONES_ONLY = "Solaris zones do not exist under Pacemaker"

# Parameters whose default differs from VCS's: a Pacemaker node has none of Sun's probe
# programs, so the second level speaks the protocols itself unless told otherwise.
OCF_DEFAULTS: dict[str, Raw] = {"NativeProbes": ("1",)}


def ocf_default(attr: Attr[object]) -> str | None:
    """A parameter's default as meta-data shows it."""
    if attr.name in OCF_DEFAULTS:
        return " ".join(OCF_DEFAULTS[attr.name])
    return attr.types_cf_default()


RESKEY = "OCF_RESKEY_"
META = "CRM_meta_"
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_DEBUG_ON = frozenset({"1", "yes", "true", "on"})


@record
class OcfRequest:
    """One OCF call, read from its environment."""

    action: OcfAction
    resource: str  # OCF_RESOURCE_INSTANCE, made safe for file names
    raw: Mapping[str, Raw]  # parameters given, as the core's raw attribute values
    seconds: float  # the budget: the operation's timeout, else DEFAULT_TIMEOUTS
    check_level: int = 0
    probe: bool = False  # a monitor with interval 0: Pacemaker asking what runs here
    trace: bool = False  # HA_debug: every TRACE line
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def second_level(self) -> bool:
        return self.check_level >= SECOND_LEVEL_DEPTH


def parameter_names(decl: Declaration) -> tuple[str, ...]:
    """The parameters an OCF agent of the type takes: the attributes, less the Solaris
    zone ones (Pacemaker runs on Linux) and those VCS_ONLY names."""
    return tuple(a.name for a in decl.attrs if not a.zone_only and a.name not in VCS_ONLY)


def resource_name(instance: str) -> str:
    """OCF_RESOURCE_INSTANCE as a name safe in a file name and a log line: a clone
    instance's ':' and anything else outside VCS's resource-name characters become '_'."""
    name = "".join(ch if ch in _NAME_CHARS else "_" for ch in instance)[:255]
    return name if not name.startswith((".", "-")) else f"_{name[1:]}"


def read_environment(
    decl: Declaration, action: OcfAction, env: Mapping[str, str]
) -> Result[OcfRequest, str]:
    """The request an OCF call makes, or why it cannot be read (OCF_RESOURCE_INSTANCE
    unset). Unknown parameters and unreadable operation values are warnings."""
    instance = env.get("OCF_RESOURCE_INSTANCE", "")
    if not instance:
        return Failure("OCF_RESOURCE_INSTANCE is not set: the agent needs the resource's name")
    names = parameter_names(decl)
    warnings: list[str] = []
    raw: dict[str, Raw] = {}
    for key in sorted(env):
        if not key.startswith(RESKEY) or key.startswith(RESKEY + META):
            continue
        name = key[len(RESKEY) :]
        attr = decl.attr(name)
        if name in VCS_ONLY:
            warnings.append(f"{key}: ignored: {VCS_ONLY[name]}")
            continue
        if attr is not None and attr.zone_only:
            warnings.append(f"{key}: ignored: {ZONES_ONLY}")
            continue
        if attr is None or name not in names:
            warnings.append(f"{key}: {decl.type_name} has no parameter {name}; ignored")
            continue
        value = env[key]
        raw[name] = (value,) if attr.dimension is Dimension.SCALAR else tuple(value.split())
    for name, fallback in OCF_DEFAULTS.items():
        if name in names:
            raw.setdefault(name, fallback)
    seconds = float(DEFAULT_TIMEOUTS[action])
    timeout = _milliseconds(env, RESKEY + META + "timeout", warnings)
    if timeout is not None and timeout > 0:
        seconds = timeout / 1000
    interval = _milliseconds(env, RESKEY + META + "interval", warnings)
    level = 0
    given = env.get("OCF_CHECK_LEVEL", "").strip()
    if given:
        if given.isascii() and given.isdigit() and len(given) <= 6:
            level = int(given)
        else:
            warnings.append(f"OCF_CHECK_LEVEL={given[:40]!r} is not a number; level 0")
    return Success(
        OcfRequest(
            action=action,
            resource=resource_name(instance),
            raw=raw,
            seconds=seconds,
            check_level=level,
            probe=action is OcfAction.MONITOR and interval == 0,
            trace=env.get("HA_debug", "").strip().lower() in _DEBUG_ON,
            warnings=tuple(warnings),
        )
    )


def _milliseconds(env: Mapping[str, str], key: str, warnings: list[str]) -> int | None:
    given = env.get(key, "").strip()
    if not given:
        return None
    if given.isascii() and given.isdigit() and len(given) <= 12:
        return int(given)
    warnings.append(f"{key}={given[:40]!r} is not a number of milliseconds; ignored")
    return None


def secret_parameters(decl: Declaration) -> tuple[str, ...]:
    """The environment variables holding a password: the front end takes them out of its
    environment before it runs anything, so that no child inherits them."""
    return tuple(RESKEY + name for name in sorted(decl.secret_names))
