"""Which Solaris zone the agent and each process run in (None where zones do not exist).

This path runs only on Solaris and is not exercised by the test suite here (Linux).
"""

from __future__ import annotations

import os
import sys

from shell.run import run_program

ZONENAME = "/usr/bin/zonename"
PS = "/usr/bin/ps"
ON_SOLARIS = sys.platform.startswith("sunos")


def current_zone() -> str | None:
    if not ON_SOLARIS or not os.access(ZONENAME, os.X_OK):
        return None
    result = run_program((ZONENAME,), timeout=5)
    return result.output.strip() or None if result.exit_code == 0 else None


def zone_of(pid: int) -> str | None:
    if not ON_SOLARIS:
        return None
    result = run_program((PS, "-o", "zone=", "-p", str(pid)), timeout=5)
    return result.output.strip() or None if result.exit_code == 0 else None
