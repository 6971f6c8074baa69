"""jesagent explain: what an entry point would do now, without running or changing anything.

    jesagent explain [--json] [--outcome KIND=OUTCOME]... <Type> <online|offline|monitor|clean>
                     <arguments as VCS passes them>
    jesagent explain [--json] [--outcome KIND=OUTCOME]... --config MAIN.CF --resource NAME
                     [--entry ENTRY] [--reason N] [--system NAME]

The first form takes the argument vector exactly as VCS passes it (V50 or V40; clean
with its reason). The second builds that vector from a resource of a main.cf, as VCS
would. Options come before the type: everything after it is taken as VCS's arguments.

The entry point's own procedure runs against what is observed now, with every command,
probe and MonitorProgram assumed to pass unless --outcome says otherwise: KIND is
command, probe or program, OUTCOME is passes, fails, hangs or cannot-run (for program
also an exit code, e.g. program=105). Nothing of the resource's is run: no start or stop
command, no probe, no password helper; the process table, pid files and the
SecondLevelMonitor count are only read, and the LDAP client is asked its version.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jescore.policy.monitoring import IDENTIFY_SECONDS
from jescore.policy.registry import POLICIES
from jescore.policy.resource import Watch
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.result import Failure, Success
from jescore.tooling import configured
from jescore.tooling import explain as core
from jescore.tooling.vcsconf_model import Configuration

USAGE_ERROR = 2
USAGE = (
    "usage: jesagent explain [--json] [--outcome KIND=OUTCOME]... <Type> "
    "<online|offline|monitor|clean> <arguments...>\n"
    "       jesagent explain [--json] [--outcome KIND=OUTCOME]... --config MAIN.CF "
    "--resource NAME [--entry ENTRY] [--reason N] [--system NAME]\n"
    "  KIND: command, probe or program; OUTCOME: passes, fails, hangs or cannot-run "
    "(program: also an exit code)"
)
VCS_BUNDLED = frozenset({"types.cf"})  # VCS's own types: never needed to read SunJES ones


@dataclass
class Options:
    json: bool = False
    config: str | None = None
    resource: str | None = None
    entry: str = "monitor"
    reason: str | None = None
    system: str | None = None
    monitor_interval: str | None = None
    outcomes: tuple[str, ...] = ()
    help: bool = False
    rest: tuple[str, ...] = ()


class UsageError(Exception):
    pass


_VALUED = {
    "--config": "config",
    "--resource": "resource",
    "--entry": "entry",
    "--reason": "reason",
    "--system": "system",
    "--monitor-interval": "monitor_interval",
    "--outcome": "outcomes",
}
OPTIONS = frozenset(
    {"--json", "--help", "--config", "--resource", "--entry", "--reason", "--system", "--outcome"}
)


def parse_options(args: Sequence[str], allowed: frozenset[str]) -> Options:
    """Leading options only: after the first word that is not one, all is VCS's."""
    options = Options()
    words = list(args)
    while words and words[0].startswith("--"):
        word = words.pop(0)
        name, eq, inline = word.partition("=")
        if name not in allowed:
            raise UsageError(f"unknown option {name}")
        if name == "--json":
            options.json = True
            continue
        if name == "--help":
            options.help = True
            continue
        if eq:
            value = inline
        elif words:
            value = words.pop(0)
        else:
            raise UsageError(f"{name} needs a value")
        if name == "--outcome":
            options.outcomes += (value,)
            continue
        setattr(options, _VALUED[name], value)
    options.rest = tuple(words)
    return options


def read_configuration(path: str) -> Configuration | str:
    """main.cf and the types files it includes (beside it, else the generated ones)."""
    from jescore.tooling import vcsconf

    main_cf = Path(path)
    try:
        text = main_cf.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot read {main_cf}: {error}"
    match vcsconf.parse(text):
        case Failure(problem):
            return f"{main_cf}: {problem}"
        case Success(first):
            pass
    texts = [(main_cf.name, text)]
    generated = _generated_types()
    for name in first.includes:
        beside = main_cf.parent / name
        if beside.is_file():
            try:
                texts.append((name, beside.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                return f"cannot read {beside}: {error}"
        elif name in generated:
            texts.append((name, generated[name]))
        elif name not in VCS_BUNDLED:
            print(f"note: {name} is neither beside {main_cf} nor generated", file=sys.stderr)
    result = vcsconf.parse_many(texts)
    if isinstance(result, Failure):
        return str(result.failure())
    conf: Configuration = result.unwrap()
    return conf


def _generated_types() -> dict[str, str]:
    try:
        from jescore.tooling import typesfile
    except ImportError:  # pragma: no cover - only while the generator does not exist
        return {}
    return typesfile.all_files()


def this_system() -> str:
    """The VCS system name of this node, as VCS names it by default: the short host name.
    Values localised for it (Attr@system) win over the plain ones, as for the agent."""
    import socket

    return socket.gethostname().split(".", 1)[0]


def gather(reading: core.Reading) -> core.Observed | None:
    """One look, as the agent would take it: the process table and pid files of the first
    level, which of the programs it may run exist, the LDAP client's version, the stored
    cycle count and the zones. Nothing of the resource's runs."""
    if reading.cfg is None or reading.parsed is None:
        return None
    from shell import cyclestate, system, zoneinfo

    policy, cfg = reading.policy, reading.cfg
    first, stopping = policy.watch(cfg), policy.stop_watch(cfg)
    identify = () if reading.violations else policy.deep_watch(cfg).identify
    programs = reading.programs()
    names = first.process_names | stopping.process_names  # offline and clean look wider
    look = Watch(names, (*first.files, *stopping.files), programs, identify, descendants=True)
    snapshot = system.observe(look, IDENTIFY_SECONDS)
    type_name, resource = reading.declaration.type_name, reading.parsed.resource
    stored = cyclestate.read_count(type_name, resource)
    last = cyclestate.read_verdict(type_name, resource)
    cached = cyclestate.read_pids(type_name, resource)
    zone = zoneinfo.current_zone() if zoneinfo.ON_SOLARIS else None
    return core.Observed(
        snapshot, stored, zone, zoneinfo.ON_SOLARIS, frozenset(programs), last, cached
    )


def read_given(words: Sequence[str]) -> core.Given:
    """--outcome KIND=OUTCOME, as often as wanted (the last word for a kind wins)."""
    outcomes: dict[core.Point, core.Outcome] = {}
    program_exit = None
    kinds = {p.value: p for p in core.Point}
    endings = {o.value: o for o in core.Outcome}
    for word in words:
        kind, _, ending = word.partition("=")
        if kind not in kinds:
            raise UsageError(f"--outcome {word}: the kind is one of {', '.join(kinds)}")
        if kinds[kind] is core.Point.PROGRAM and re.fullmatch(r"[0-9]{1,3}", ending):
            program_exit = int(ending)
            outcomes.pop(core.Point.PROGRAM, None)
            continue
        if ending not in endings:
            raise UsageError(f"--outcome {word}: the outcome is one of {', '.join(endings)}")
        outcomes[kinds[kind]] = endings[ending]
        if kinds[kind] is core.Point.PROGRAM:
            program_exit = None
    return core.Given(outcomes, program_exit)


def explain_argv(
    type_name: str, entry: EntryPoint, argv: Sequence[str], given: core.Given | None = None
) -> core.Explanation:
    reading = core.read(POLICIES[type_name], entry, argv)
    return core.explain(reading, gather(reading), given or core.Given())


def show(explanation: core.Explanation, as_json: bool) -> None:
    if as_json:
        print(json.dumps(core.as_json(explanation), indent=2))
    else:
        sys.stdout.write(core.render_text(explanation))


def _entry(text: str) -> EntryPoint:
    try:
        return EntryPoint(text)
    except ValueError:
        raise UsageError(f"{text!r} is not an entry point") from None


def main(args: Sequence[str]) -> int:
    try:
        options = parse_options(args, OPTIONS)
        if options.help:
            print(f"{USAGE}\n\n{__doc__.strip()}")
            return 0
        given = read_given(options.outcomes)
        if options.config is not None:
            return _from_config(options, options.config)
        if len(options.rest) < 2 or options.rest[0] not in POLICIES:
            raise UsageError(f"name a type: {', '.join(POLICIES)}")
        entry = _entry(options.rest[1])
    except UsageError as problem:
        print(f"jesagent explain: {problem}\n{USAGE}", file=sys.stderr)
        return USAGE_ERROR
    show(explain_argv(options.rest[0], entry, options.rest[2:], given), options.json)
    return 0


def _from_config(options: Options, path: str) -> int:
    if options.rest:
        raise UsageError("--config takes no other arguments")
    if options.resource is None:
        raise UsageError("--config needs --resource NAME")
    entry = _entry(options.entry)
    reason = None
    if entry is EntryPoint.CLEAN:
        text = options.reason if options.reason is not None else "0"
        if not re.fullmatch(r"[0-9]", text) or int(text) not in {r.value for r in CleanReason}:
            raise UsageError("--reason is a clean reason, 0 to 5")
        reason = CleanReason(int(text))
    conf = read_configuration(path)
    if isinstance(conf, str):
        print(f"jesagent explain: {conf}", file=sys.stderr)
        return 1
    decls = {name: policy.declaration for name, policy in POLICIES.items()}
    system = options.system if options.system is not None else this_system()
    call = configured.configured_call(
        conf, decls, options.resource, entry, system=system, reason=reason
    )
    match call:
        case Failure(problem):
            print(f"jesagent explain: {problem}", file=sys.stderr)
            return 1
        case Success(found):
            pass
    show(
        explain_argv(found.type_name, entry, found.argv, read_given(options.outcomes)), options.json
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
