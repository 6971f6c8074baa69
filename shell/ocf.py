"""The OCF front end: Pacemaker's `<agent> <action>` with the parameters in the
environment, carried out by the same core procedures as the VCS entry points.

It reads the environment into a request (jescore.policy.ocf), takes the password
parameters out of the environment so that no program it runs inherits them, drives the
action's procedure with shell.engine's interpreter, and exits with the OCF code.
"""

from __future__ import annotations

import os
import sys
import time

from jescore.policy.actions import Host
from jescore.policy.agentlog import Msg
from jescore.policy.checks import LogLevel
from jescore.policy.ocf import (
    ANSWERS,
    OcfAction,
    OcfCode,
    Situation,
    read_environment,
    secret_parameters,
)
from jescore.result import Failure, Result, Success
from jescore.typenames import TYPE_CHECKING
from shell.engine import interpret, policy_of
from shell.ocflog import OcfLog
from shell.system import LiveSystem

if TYPE_CHECKING:
    from collections.abc import MutableMapping, Sequence
    from typing import NoReturn

DEFAULT_RSCTMP = "/run/resource-agents"


def usage(type_name: str) -> str:
    actions = "|".join(a.value for a in OcfAction)
    return f"usage: {type_name} <{actions}>  (parameters in OCF_RESKEY_<name>)"


class OcfSystem(LiveSystem):
    """This machine, as an OCF action called by Pacemaker sees it: no zones, no halog,
    passwords given in plain text, the ha_log conventions for the log."""

    def __init__(
        self, type_name: str, action: str, started: float, env: MutableMapping[str, str]
    ) -> None:
        super().__init__(type_name, action, started)
        self.sink = OcfLog(type_name, action, env)

    def zones(self) -> tuple[bool, str | None]:
        return False, None

    def halog(self) -> bool:
        return False

    def decrypt(self, attribute: str, encrypted: str, timeout: float) -> Result[str, str]:
        # Under Pacemaker the parameter holds the password itself (cibsecret keeps it out
        # of the CIB); it still reaches the program only on its standard input.
        self.sink.add_secret(encrypted)
        return Success(encrypted)


def main(type_name: str, argv: Sequence[str], env: MutableMapping[str, str]) -> int:
    """One OCF action; its exit code. `env` is the process environment: the password
    parameters are removed from it before anything runs."""
    started = time.monotonic()
    if len(argv) != 1:
        print(usage(type_name), file=sys.stderr)
        return int(ANSWERS[Situation.NOT_CALLED_RIGHT])
    try:
        action = OcfAction(argv[0])
    except ValueError:
        print(f"{type_name}: action {argv[0][:40]!r} is not implemented", file=sys.stderr)
        return int(ANSWERS[Situation.UNIMPLEMENTED])
    if action is OcfAction.META_DATA:
        from jescore.tooling.ocfmeta import metadata

        print(metadata(policy_of(type_name).declaration), end="")
        return int(OcfCode.SUCCESS)
    if action is OcfAction.USAGE:
        print(usage(type_name))
        return int(OcfCode.SUCCESS)
    policy = policy_of(type_name)
    given = dict(env)
    for name in secret_parameters(policy.declaration):
        env.pop(name, None)
    # The monitor's memory (pid cache, last verdict) where resource agents keep theirs.
    rsctmp = given.get("HA_RSCTMP") or DEFAULT_RSCTMP
    env.setdefault("JESAGENT_STATE_DIR", os.path.join(rsctmp, "jesagent"))
    system = OcfSystem(type_name, action.value, started, env)
    request = read_environment(policy.declaration, action, given)
    if isinstance(request, Failure):
        system.log(LogLevel.ERROR, Msg.BAD_ARGUMENTS, request.failure())
        return int(ANSWERS[Situation.NOT_CALLED_RIGHT])
    from jescore.policy.ocf_procedures import ocf_entry

    host = Host(False, None, system.logdbg(), False)
    try:
        return interpret(ocf_entry(policy, request.unwrap(), host), system)
    except Exception as error:  # Pacemaker gets an answer, never a traceback
        system.log(
            LogLevel.ERROR, Msg.COMMAND_FAILED, f"internal error: {type(error).__name__}: {error}"
        )
        return int(ANSWERS[Situation.INTERNAL_ERROR])


def run_and_exit(type_name: str, argv: Sequence[str]) -> NoReturn:
    """What an installed OCF agent calls (see shell.cli.run_and_exit)."""
    from shell.cli import finish

    finish(main(type_name, argv, os.environ))
