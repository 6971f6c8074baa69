"""The interpreter: it performs the actions a core procedure yields and sends back what
happened, until the procedure answers its exit code.

All policy is in jescore.policy.procedures; what remains here is mechanics: the clock,
decrypting a password into a program's standard input, and the guarantee that VCS gets
an answer even when the interpreter itself fails.
"""

from __future__ import annotations

import sys
import time

from jescore.policy.actions import (
    Action,
    ArmWatchdog,
    Connect,
    Converse,
    Debug,
    ForgetCount,
    Host,
    LoadCount,
    LoadPids,
    LoadVerdict,
    Log,
    Observe,
    Reply,
    Run,
    Secret,
    Signal,
    StartLog,
    StoreCount,
    StorePids,
    StoreVerdict,
    Wait,
)
from jescore.policy.agentlog import Msg
from jescore.policy.catalog import TYPE_MODULES
from jescore.policy.checks import LogLevel
from jescore.policy.commands import DialogueResult, ProgramResult
from jescore.policy.procedures import entry_point
from jescore.policy.resource import ResourcePolicy
from jescore.policy.vcs import FAILURE_EXIT, EntryPoint
from jescore.typenames import TYPE_CHECKING
from shell.system import LiveSystem, System

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jescore.policy.actions import Machine


def policy_of(type_name: str) -> ResourcePolicy:
    """The type's policy, importing only its own module."""

    name = TYPE_MODULES[type_name]
    __import__(name)  # not importlib: its import costs more than the module it would load
    policy: ResourcePolicy = sys.modules[name].POLICY
    return policy


def run(type_name: str, entry_name: str, argv: Sequence[str]) -> int:
    """An entry point as VCS calls it; the return value is the exit code."""
    started = time.monotonic()
    entry = EntryPoint(entry_name)
    return carry_out(type_name, entry, argv, LiveSystem(type_name, entry.value, started))


def carry_out(type_name: str, entry: EntryPoint, argv: Sequence[str], system: System) -> int:
    """Drive the entry point's procedure against `system`; VCS gets an answer whatever
    happens, never a traceback."""
    zones_exist, agent_zone = system.zones()
    host = Host(zones_exist, agent_zone, system.logdbg(), system.halog())
    try:
        return interpret(entry_point(policy_of(type_name), entry, argv, host), system)
    except Exception as error:
        system.log(
            LogLevel.ERROR, Msg.COMMAND_FAILED, f"internal error: {type(error).__name__}: {error}"
        )
        return FAILURE_EXIT[entry]


def interpret(machine: Machine, system: System) -> int:
    """Perform each action, send back its result with the time elapsed; the procedure's
    return value is the exit code."""
    plain: dict[str, str] = {}  # decrypted passwords, by attribute, for this call only
    try:
        action = next(machine)
        while True:
            value = perform(action, system, plain)
            action = machine.send(Reply(system.elapsed(), value))
    except StopIteration as done:
        code: int = done.value
        return code


def perform(action: Action, system: System, plain: dict[str, str]) -> object:
    match action:
        case StartLog(resource, level, debug):
            system.start_log(resource, level, debug)
        case Log(level, msg, text):
            system.log(level, msg, text)
        case Debug(level, text):
            system.debug(level, text)
        case ArmWatchdog(at, code):
            system.arm_watchdog(at, code)
        case Observe(watch, identify_limit):
            return system.observe(watch, identify_limit)
        case LoadCount(resource):
            return system.load_count(resource)
        case StoreCount(resource, count):
            return system.store_count(resource, count)
        case ForgetCount(resource):
            system.forget_count(resource)
        case LoadPids(resource):
            return system.load_pids(resource)
        case StorePids(resource, pids):
            return system.store_pids(resource, pids)
        case LoadVerdict(resource):
            return system.load_verdict(resource)
        case StoreVerdict(resource, state):
            return system.store_verdict(resource, state)
        case Run():
            return _run(action, system, plain)
        case Connect(probe, timeout):
            return system.connect(probe, timeout)
        case Converse():
            return _converse(action, system, plain)
        case Signal(identity, sig):
            return system.signal(identity, sig)
        case Wait(seconds):
            system.sleep(seconds)
    return None


def _decrypted(
    secret: Secret, system: System, plain: dict[str, str], deadline: float
) -> tuple[str, str]:
    """The secret's plaintext, decrypted once per call; or "" and why it could not be."""
    name = secret.attribute
    if name not in plain:
        found = system.decrypt(name, secret.encrypted, deadline - system.elapsed())
        reason = found.swap().value_or("")
        if reason:
            return "", reason
        plain[name] = found.value_or("")
    return plain[name], ""


def _run(action: Run, system: System, plain: dict[str, str]) -> ProgramResult:
    """Decrypting the password counts against the command's own time limit."""
    deadline = system.elapsed() + action.timeout
    stdin = None
    if action.secret is not None:
        value, reason = _decrypted(action.secret, system, plain, deadline)
        if reason:
            return ProgramResult(False, None, "", reason, secret_unavailable=True)
        stdin = (value + "\n").encode()
    left = deadline - system.elapsed()
    if left <= 0:
        return ProgramResult(False, None, "", "no time left in the budget")
    return system.run(action.argv, left, stdin)


def _converse(action: Converse, system: System, plain: dict[str, str]) -> DialogueResult:
    """As for a program, decrypting the password counts against the probe's threshold."""
    deadline = system.elapsed() + action.timeout
    password = ""
    if action.secret is not None:
        password, reason = _decrypted(action.secret, system, plain, deadline)
        if reason:
            return DialogueResult(ran=False, error=reason, secret_unavailable=True)
    left = deadline - system.elapsed()
    if left <= 0:
        return DialogueResult(ran=False, error="no time left in the budget")
    return system.converse(action.probe, left, password)
