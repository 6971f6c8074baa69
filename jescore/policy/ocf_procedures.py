"""The OCF actions as procedures on the same steps as the VCS entry points.

start is online that reports whether the resource came up; stop is offline that reports
whether anything is left; monitor is the VCS monitor with the second level decided by
OCF_CHECK_LEVEL instead of a cycle count; validate-all is the attribute validation plus
a look for the start program. Each answers a Situation, which ocf.ANSWERS turns into
the exit code.
"""

from __future__ import annotations

from jescore.policy.actions import Host, Observe
from jescore.policy.agentlog import Msg
from jescore.policy.checks import LogLevel
from jescore.policy.monitoring import State, Verdict
from jescore.policy.ocf import ANSWERS, ENTRY_OF, OcfAction, OcfRequest, Situation
from jescore.policy.procedures import (
    NO_ZONES,
    Call,
    Refusal,
    Request,
    ask,
    begin,
    bring_online,
    carry_out,
    log,
    monitor_and_log,
    take_offline,
)
from jescore.policy.resource import FirstLevel, ResourcePolicy, Snapshot, Watch
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from jescore.policy.actions import Machine
    from jescore.policy.procedures import Step


def ocf_entry(policy: ResourcePolicy, request: OcfRequest, host: Host = NO_ZONES) -> Machine:
    """Carry out one OCF action (start, stop, monitor, validate-all); the exit code."""
    core = Request(
        resource=request.resource,
        raw=request.raw,
        seconds=request.seconds,
        warnings=request.warnings,
        shown="OCF parameters",
        label=request.action.value,
        trace=request.trace,
        vcs_codes=False,
    )
    entry = ENTRY_OF[request.action]
    failed = int(ANSWERS[Situation.INTERNAL_ERROR])
    call = yield from begin(policy, entry, core, host, failed)
    if isinstance(call, Refusal):
        bad = call is Refusal.BAD_ATTRIBUTES
        return int(ANSWERS[Situation.BAD_PARAMETERS if bad else Situation.INTERNAL_ERROR])
    procedure = _PROCEDURES[request.action](request)

    def answered(call: Call) -> Step[int]:
        situation = yield from procedure(call)
        code = int(ANSWERS[situation])
        # monitor's own verdict line already says what changed; a quiet standby stays quiet
        level = LogLevel.TRACE if request.action is OcfAction.MONITOR else LogLevel.INFO
        yield from log(call, level, Msg.OCF_ANSWER, f"answers {code}: {situation.value}")
        return code

    return (yield from carry_out(call, answered))


def start(call: Call) -> Step[Situation]:
    if not (yield from start_program_here(call)):
        return Situation.NOT_INSTALLED
    return Situation.RUNNING if (yield from bring_online(call)) else Situation.START_FAILED


def stop(call: Call) -> Step[Situation]:
    left = yield from take_offline(call)
    return Situation.STOP_FAILED if left else Situation.STOPPED


def monitor(call: Call, second_level: bool) -> Step[Situation]:
    verdict, first = yield from monitor_and_log(call, second_level)
    return monitor_situation(verdict, first)


def validate_all(call: Call) -> Step[Situation]:
    return Situation.VALID if (yield from start_program_here(call)) else Situation.NOT_INSTALLED


def monitor_situation(verdict: Verdict, first: FirstLevel) -> Situation:
    """A monitor verdict in OCF's terms: offline is 'not running' only when no process of
    the resource is there; processes that run but fail a check are a failure to recover."""
    if verdict.state is State.ONLINE:
        return Situation.RUNNING
    if verdict.state is State.UNKNOWN:
        return Situation.UNKNOWN
    return Situation.FAILED if first.found else Situation.NOT_RUNNING


def start_program_here(call: Call) -> Step[bool]:
    """Whether the start program is an executable on this node (the shared disk may be
    mounted elsewhere); logged when it is not."""
    program = call.in_zone(call.policy.start(call.cfg).argv)[0]
    seen = yield from ask(call, Observe(Watch(paths=(program,)), 0.1))
    assert isinstance(seen, Snapshot)  # checked by ask
    if program in seen.executables:
        return True
    yield from log(
        call,
        LogLevel.ERROR,
        Msg.COMMAND_NOT_RUN,
        f"{program} is not an executable file on this node (is the installation's disk "
        "mounted here?)",
    )
    return False


_PROCEDURES: dict[OcfAction, Callable[[OcfRequest], Callable[[Call], Step[Situation]]]] = {
    OcfAction.START: lambda request: start,
    OcfAction.STOP: lambda request: stop,
    OcfAction.MONITOR: lambda request: lambda call: monitor(call, request.second_level),
    OcfAction.VALIDATE_ALL: lambda request: validate_all,
}
