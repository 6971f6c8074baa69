"""The jesagent command.

jesagent vcs <Type> <online|offline|monitor|clean> <arguments exactly as VCS passes them>
jesagent install --agents-dir DIR
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jescore.registry import POLICIES
from jescore.vcs import EntryPoint

USAGE_ERROR = 2


def entry_point(type_name: str, entry: str, argv: Sequence[str]) -> int:
    """What an installed entry-point executable calls."""
    from shell import engine  # imported here: `jesagent install` does not need it

    return engine.run(type_name, entry, argv)


def _vcs(args: Sequence[str]) -> int:
    entries = [e.value for e in EntryPoint]
    if len(args) < 2 or args[0] not in POLICIES or args[1] not in entries:
        print(
            f"usage: jesagent vcs <{'|'.join(POLICIES)}> <{'|'.join(entries)}> <resource> ...",
            file=sys.stderr,
        )
        return USAGE_ERROR
    return entry_point(args[0], args[1], args[2:])


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "vcs":
        # Not argparse: VCS values may start with '-' and must reach the parser untouched.
        return _vcs(args[1:])
    parser = argparse.ArgumentParser(prog="jesagent", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("vcs", help="run an entry point as VCS would")
    install = commands.add_parser("install", help="write the entry points VCS calls")
    install.add_argument("--agents-dir", type=Path, default=Path("/opt/VRTSagents/ha/bin"))
    options = parser.parse_args(args)
    if options.command == "install":
        from shell.install import install as do_install

        try:
            written = do_install(options.agents_dir)
        except OSError as error:
            print(f"jesagent install: {error}", file=sys.stderr)
            return 1
        for path in written:
            print(f"wrote {path}")
        return 0
    return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
