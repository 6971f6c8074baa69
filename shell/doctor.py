"""jesagent doctor: the seed guide's troubleshooting chapter, run as checks.

    jesagent doctor [--json] [--monitor-interval S] <Type> <arguments as VCS passes them>
    jesagent doctor [--json] [--monitor-interval S] --config MAIN.CF [--resource NAME]
                    [--system NAME]

Every check prints PASS, WARN, FAIL or SKIP, what it looked at, and the fix. The exit
status is 0 when nothing failed, 1 otherwise (2: wrong usage). Doctor reads settings
(configutil -o, dsadm get-flags, ldapsearch -VV) and asks the password helper whether
each secret decrypts; it starts, stops and changes nothing, and prints no password,
plain or encrypted. Options come before the type: after it, all is VCS's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence

from jescore.policy import sunjesldap
from jescore.policy.commands import ProgramResult
from jescore.policy.monitoring import IDENTIFY_SECONDS
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Watch
from jescore.policy.vcs import EntryPoint
from jescore.result import Success
from jescore.tooling import configured, diagnosis
from shell.explain import (
    USAGE_ERROR,
    Options,
    UsageError,
    parse_options,
    read_configuration,
    this_system,
)

USAGE = (
    "usage: jesagent doctor [--json] [--monitor-interval S] <Type> <arguments...>\n"
    "       jesagent doctor [--json] [--monitor-interval S] --config MAIN.CF "
    "[--resource NAME] [--system NAME]"
)
OPTIONS = frozenset(
    {"--json", "--help", "--config", "--resource", "--system", "--monitor-interval"}
)


def find_dsadm() -> str | None:
    for path in diagnosis.DSADM_PATHS:
        if os.access(path, os.X_OK) and os.path.isfile(path):
            return path
    return shutil.which("dsadm")


def gather(plan: diagnosis.Plan, monitor_interval: int) -> diagnosis.Findings:
    from shell import secrets, system
    from shell.run import run_program

    paths = (*(p.path for p in plan.programs), *plan.ldapsearch)
    executables = system.observe(Watch(paths=paths), IDENTIFY_SECONDS).executables
    versions: dict[str, str] = {}
    first = next((p for p in plan.ldapsearch if p in executables), None)
    if first is not None:
        command = sunjesldap.version_command(first)
        seen = system.observe(Watch(paths=(first,), identify=(command,)), IDENTIFY_SECONDS)
        versions[first] = seen.outputs.get(command, "")
    configutil: dict[str, ProgramResult] = {}
    if plan.configutil is not None and plan.configutil in executables:
        for option in plan.configutil_options:
            ask = (plan.configutil, "-o", option)
            configutil[option] = run_program(ask, timeout=diagnosis.CONFIGUTIL_SECONDS)
    dsadm = find_dsadm() if plan.instance_root is not None else None
    dsadm_result = None
    if dsadm is not None and plan.instance_root is not None:
        flags = diagnosis.dsadm_command(dsadm, plan.instance_root)
        dsadm_result = run_program(flags, timeout=diagnosis.DSADM_SECONDS)
    helper = secrets.helper_command()[0]
    resolved = helper if "/" in helper else shutil.which(helper)
    usable = resolved is not None and os.access(resolved, os.X_OK) and os.path.isfile(resolved)
    decrypted: dict[str, str | None] = {}
    for attribute, encrypted in plan.secrets if usable else ():
        result = secrets.decrypt(attribute, encrypted)
        # Only whether it decrypts is kept; the plaintext is dropped here and then.
        decrypted[attribute] = None if isinstance(result, Success) else str(result.failure())
    return diagnosis.Findings(
        executables, versions, configutil, dsadm, dsadm_result, decrypted, monitor_interval,
        helper, usable,
    )  # fmt: skip


def check_resource(
    type_name: str, argv: Sequence[str], monitor_interval: int, group: str | None = None
) -> diagnosis.Report:
    subject = diagnosis.read_subject(POLICIES[type_name].declaration, argv)
    plan = diagnosis.plan(subject)
    found = gather(plan, monitor_interval)
    checks = diagnosis.diagnose(subject, plan, found)
    return diagnosis.Report(type_name, subject.resource, group, checks, subject.secrets)


def show(reports: Sequence[diagnosis.Report], as_json: bool) -> int:
    if as_json:
        print(json.dumps(diagnosis.as_json(reports), indent=2))
    else:
        sys.stdout.write(diagnosis.render_text(reports))
    return diagnosis.exit_code(reports)


def _interval(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,6}", text) or int(text) <= 0:
        raise UsageError("--monitor-interval is a number of seconds above 0")
    return int(text)


def main(args: Sequence[str]) -> int:
    try:
        options = parse_options(args, OPTIONS)
        if options.help:
            print(f"{USAGE}\n\n{__doc__.strip()}")
            return 0
        interval = _interval(options.monitor_interval)
        if options.config is not None:
            if options.rest:
                raise UsageError("--config takes no other arguments")
            return _from_config(options, options.config, interval)
        if options.resource is not None or options.system is not None:
            raise UsageError("--resource and --system go with --config")
        if not options.rest or options.rest[0] not in POLICIES:
            raise UsageError(f"name a type: {', '.join(POLICIES)}")
    except UsageError as problem:
        print(f"jesagent doctor: {problem}\n{USAGE}", file=sys.stderr)
        return USAGE_ERROR
    every = interval or configured.DEFAULT_MONITOR_INTERVAL
    report = check_resource(options.rest[0], options.rest[1:], every)
    return show([report], options.json)


def _from_config(options: Options, path: str, interval: int | None) -> int:
    conf = read_configuration(path)
    if isinstance(conf, str):
        print(f"jesagent doctor: {conf}", file=sys.stderr)
        return 1
    decls = {name: policy.declaration for name, policy in POLICIES.items()}
    everything = [name for _, name in configured.sunjes_resources(conf, decls)]
    names = [options.resource] if options.resource is not None else everything
    if not names:
        print(f"jesagent doctor: no {', '.join(decls)} resource in {path}", file=sys.stderr)
        return 1
    here = options.system if options.system is not None else this_system()
    reports: list[diagnosis.Report] = []
    for name in names:
        call = configured.configured_call(conf, decls, name, EntryPoint.MONITOR, system=here)
        if not isinstance(call, Success):
            print(f"jesagent doctor: {call.failure()}", file=sys.stderr)
            return 1
        found: configured.ConfiguredCall = call.unwrap()
        every = interval or found.monitor_interval
        reports.append(check_resource(found.type_name, found.argv, every, found.group))
    return show(reports, options.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
