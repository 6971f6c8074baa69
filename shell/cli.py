"""The jesagent command.

jesagent vcs <Type> <online|offline|monitor|clean> <arguments exactly as VCS passes them>
jesagent explain [--json] <Type> <entry point> <arguments> | --config MAIN.CF --resource R
jesagent doctor [--json] <Type> <arguments> | --config MAIN.CF [--resource R]
jesagent install [--agents-dir DIR] [--conf-dir DIR]
jesagent uninstall [--agents-dir DIR] [--conf-dir DIR]
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
    import contextlib
    import os

    code = entry_point(type_name, entry, argv)
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
    commands.add_parser("explain", help="what an entry point would decide now; runs nothing")
    commands.add_parser("doctor", help="the troubleshooting checks, with the fix for each")
    for name, text in (
        ("install", "write the entry points and types files"),
        ("uninstall", "remove exactly what install wrote"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--agents-dir", type=Path, default=None)
        sub.add_argument("--conf-dir", type=Path, default=None)
    options = parser.parse_args(args)
    if options.command in {"install", "uninstall"}:
        return _install(options.command, options.agents_dir, options.conf_dir)
    return USAGE_ERROR


def _install(command: str, agents_dir: Path | None, conf_dir: Path | None) -> int:
    from shell import install

    agents = agents_dir or install.DEFAULT_AGENTS_DIR
    conf = conf_dir or install.DEFAULT_CONF_DIR
    try:
        if command == "install":
            report = install.install(agents, conf)
        else:
            print(install.steps_before_uninstall())
            report = install.uninstall(agents, conf)
    except OSError as error:
        print(f"jesagent {command}: {error}", file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"jesagent {command}: {problem}", file=sys.stderr)
    for path in report.written:
        print(f"wrote {path}")
    for path in report.removed:
        print(f"removed {path}")
    for note in report.kept:
        print(f"kept {note}")
    if report.problems:
        return 1
    if command == "install":
        print(install.next_steps_after_install(conf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
