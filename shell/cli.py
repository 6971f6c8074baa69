"""The jesagent command.

jesagent vcs <Type> <online|offline|monitor|clean> <arguments exactly as VCS passes them>
jesagent explain [--json] <Type> <entry point> <arguments> | --config MAIN.CF --resource R
jesagent doctor [--json] <Type> <arguments> | --config MAIN.CF [--resource R]
jesagent ocf <Type> <start|stop|monitor|validate-all|meta-data>   (OCF_RESKEY_* in the environment)
jesagent install [--agents-dir DIR] [--conf-dir DIR] [--python PATH]
jesagent install --ocf [--ocf-dir DIR] [--python PATH]
jesagent uninstall [--agents-dir DIR] [--conf-dir DIR]
jesagent uninstall --ocf [--ocf-dir DIR]
"""

from __future__ import annotations

import sys

from jescore.policy.catalog import TYPE_MODULES as POLICIES  # the type names, cheaply
from jescore.policy.vcs import EntryPoint
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import NoReturn

    from shell.install import Report

USAGE_ERROR = 2


def entry_point(type_name: str, entry: str, argv: Sequence[str]) -> int:
    """Run one entry point as VCS calls it; its exit code."""
    from shell import engine  # imported here: `jesagent install` does not need it

    return engine.run(type_name, entry, argv)


def run_and_exit(type_name: str, entry: str, argv: Sequence[str]) -> NoReturn:
    """What an installed entry-point executable calls: the entry point, then the exit,
    without the interpreter's teardown (freeing every module costs a monitor call more
    than its work does). Everything the agent writes is written or closed by then; the
    standard streams are flushed here."""
    finish(entry_point(type_name, entry, argv))


def finish(code: int) -> NoReturn:
    """Flush the standard streams and exit at once with `code`."""
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to save
            stream.flush()
    os._exit(code)


def _vcs(args: Sequence[str]) -> int:
    entries = [e.value for e in EntryPoint]
    usage = f"usage: jesagent vcs <{'|'.join(POLICIES)}> <{'|'.join(entries)}> <resource> ..."
    if list(args) in (["--help"], ["-h"]):
        print(
            f"{usage}\n\nRuns an entry point as VCS calls it: the resource name, the clean "
            "reason for clean, then the ArgList values (V50 tuples or V40 positions)."
        )
        return 0
    if len(args) < 2 or args[0] not in POLICIES or args[1] not in entries:
        print(usage, file=sys.stderr)
        return USAGE_ERROR
    return entry_point(args[0], args[1], args[2:])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "vcs":
        # Not argparse: VCS values may start with '-' and must reach the parser untouched.
        return _vcs(args[1:])
    if args and args[0] == "ocf":
        return _ocf(args[1:])
    if args and args[0] == "explain":
        from shell import explain

        return explain.main(args[1:])
    if args and args[0] == "doctor":
        from shell import doctor

        return doctor.main(args[1:])
    import argparse  # not on the entry points' path: they never parse options
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="jesagent", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # vcs, explain and doctor pass VCS's arguments on untouched; listed here for --help.
    commands.add_parser("vcs", help="run an entry point as VCS would")
    commands.add_parser("ocf", help="run an OCF action as Pacemaker would")
    commands.add_parser("explain", help="what an entry point would decide now; runs nothing")
    commands.add_parser("doctor", help="the troubleshooting checks, with the fix for each")
    for name, text in (
        ("install", "write the entry points and types files (or, with --ocf, the OCF agents)"),
        ("uninstall", "remove exactly what install wrote"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--agents-dir", type=Path, default=None)
        sub.add_argument("--conf-dir", type=Path, default=None)
        sub.add_argument("--ocf", action="store_true", help="the OCF agents for Pacemaker")
        sub.add_argument("--ocf-dir", type=Path, default=None)
        if name == "install":
            sub.add_argument(
                "--python", default=None, help="the interpreter the agents start (default: this)"
            )
    options = parser.parse_args(args)
    if options.command not in {"install", "uninstall"}:
        return USAGE_ERROR
    if options.ocf and (options.agents_dir or options.conf_dir):
        parser.error("--ocf takes --ocf-dir, not --agents-dir or --conf-dir")
    if not options.ocf and options.ocf_dir:
        parser.error("--ocf-dir goes with --ocf")
    python = getattr(options, "python", None)
    if options.ocf:
        return _install_ocf(options.command, options.ocf_dir, python)
    return _install(options.command, options.agents_dir, options.conf_dir, python)


def _ocf(args: Sequence[str]) -> int:
    import os

    usage = f"usage: jesagent ocf <{'|'.join(POLICIES)}> <action>"
    if len(args) != 2 or args[0] not in POLICIES:
        print(usage, file=sys.stderr)
        return USAGE_ERROR
    from shell import ocf

    return ocf.main(args[0], args[1:], os.environ)


def _install_ocf(command: str, ocf_dir: Path | None, python: str | None) -> int:
    from shell import install

    folder = ocf_dir or install.DEFAULT_OCF_DIR
    try:
        if command == "install":
            report = install.install_ocf(folder, python)
        else:
            print(install.steps_before_ocf_uninstall(folder))
            report = install.uninstall_ocf(folder)
    except OSError as error:
        print(f"jesagent {command}: {error}", file=sys.stderr)
        return 1
    code = _report(command, report)
    if code == 0 and command == "install":
        print(install.next_steps_after_ocf_install(folder))
    return code


def _report(command: str, report: Report) -> int:
    for problem in report.problems:
        print(f"jesagent {command}: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"jesagent {command}: warning: {warning}", file=sys.stderr)
    for path in report.written:
        print(f"wrote {path}")
    for path in report.removed:
        print(f"removed {path}")
    for note in report.kept:
        print(f"kept {note}")
    for note in report.notes:
        print(f"note: {note}")
    return 1 if report.problems else 0


def _install(
    command: str, agents_dir: Path | None, conf_dir: Path | None, python: str | None
) -> int:
    from shell import install

    agents = agents_dir or install.DEFAULT_AGENTS_DIR
    conf = conf_dir or install.DEFAULT_CONF_DIR
    try:
        if command == "install":
            report = install.install(agents, conf, python)
        else:
            print(install.steps_before_uninstall())
            report = install.uninstall(agents, conf)
    except OSError as error:
        print(f"jesagent {command}: {error}", file=sys.stderr)
        return 1
    code = _report(command, report)
    if code == 0 and command == "install":
        print(install.next_steps_after_install(conf))
    return code


if __name__ == "__main__":
    sys.exit(main())
