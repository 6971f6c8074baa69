"""ROOT/sbin/configutil of the stand-in: `configutil -o OPTION [-v VALUE]`.

Prints the value (an empty line and exit 1 when unset) or sets it and prints "OK SET".
Without -o it lists every option as key=value.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from stubs.msg_common import read_config, render_config, set_config


def configutil_main(root: str, argv: Sequence[str]) -> int:
    server_root = Path(root)
    option: str | None = None
    value: str | None = None
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag in ("-o", "-v") and args:
            if flag == "-o":
                option = args.pop(0)
            else:
                value = args.pop(0)
        else:
            print("usage: configutil [-o option [-v value]]", file=sys.stderr)
            return 2
    if option is None:
        if value is not None:
            print("configutil: -v needs -o", file=sys.stderr)
            return 2
        sys.stdout.write(render_config(read_config(server_root)))
        return 0
    if value is not None:
        set_config(server_root, option, value)
        print("OK SET")
        return 0
    current = read_config(server_root).get(option)
    print(current if current is not None else "")
    return 0 if current is not None else 1
