"""make bench: what an entry point costs, as ratios against baselines measured in the same run.

Every VCS call is a new process, so the figures that matter are process start-up and
import cost, one monitor cycle end to end, and the pure decision work inside it. Each is
reported against a baseline taken on this machine, in this run:

    interpreter  python -I -c pass
    decisions    the same number of naive substring scans of the same process table
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import validate
from jescore.policy.processes import ProcessInfo
from jescore.policy.resource import Snapshot
from jescore.policy.sunjesmsg import DECLARATION, POLICY
from jescore.policy.vcs import EntryPoint
from stubs.msgserver import build_server_root

RUNS = 15


def median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, check=False, capture_output=True, env=env)


def main() -> int:
    python = sys.executable
    rows: list[tuple[str, float, str, float]] = []
    base_start = median_seconds(lambda: run([python, "-I", "-c", "pass"]))
    for label, module in [
        (
            "import jescore (parse, validate, policy)",
            "jescore.policy.sunjesmsg, jescore.policy.argv",
        ),
        ("import shell.engine (all an entry point loads)", "shell.engine"),
    ]:
        command = [python, "-I", "-c", f"import {module}"]
        cost = median_seconds(partial(run, command))
        rows.append((label, cost, "python -I -c pass", base_start))

    with tempfile.TemporaryDirectory(prefix="jesagent-bench-") as work:
        folder = Path(work)
        server = build_server_root(folder / "msg", stop_timeout=3)
        try:
            agents = folder / "agents"
            run(
                [
                    python,
                    "-m",
                    "shell.cli",
                    "install",
                    "--agents-dir",
                    str(agents),
                    "--conf-dir",
                    str(folder / "conf"),
                ]
            )
            values = {
                "ServerRoot": (str(server.root),),
                "MsgHost": ("127.0.0.1",),
                "MsgServices": ("core", str(server.ports["core"])),
            }
            env = {
                **os.environ,
                "JESAGENT_LOG": str(folder / "log"),
                "JESAGENT_STATE_DIR": str(folder / "state"),
            }
            args = list(vcs_argv.render_v50(DECLARATION, "bench", values))
            monitor = [str(agents / "SunJESMsg" / "monitor"), *args]
            run([str(agents / "SunJESMsg" / "online"), *args], env)
            first = median_seconds(lambda: run(monitor, env))
            rows.append(
                (
                    "monitor, first level (installed entry point)",
                    first,
                    "python -I -c pass",
                    base_start,
                )
            )
            with_second = {**values, "SecondLevelMonitor": ("1",)}
            deep = [
                str(agents / "SunJESMsg" / "monitor"),
                *vcs_argv.render_v50(DECLARATION, "deep", with_second),
            ]
            second = median_seconds(lambda: run(deep, env))
            rows.append(
                ("monitor, with stored -t -v second level", second, "python -I -c pass", base_start)
            )
        finally:
            server.stop_all()

    tokens = list(vcs_argv.render_v50(DECLARATION, "r", {
        "ServerRoot": ("/opt/SUNWmsgsr",), "MsgHost": ("mail.example.com",),
        "MsgServices": ("imap", "143", "pop", "110", "smtp", "25"),
    }))  # fmt: skip
    table = tuple(
        ProcessInfo(pid, name, (f"/opt/SUNWmsgsr/lib/{name}",), 1.0)
        for pid, name in enumerate(["imapd", "popd", "dispatcher", "job_controller", "bash"] * 40)
    )
    loops = 2000

    def decide() -> None:
        for _ in range(loops):
            parsed = vcs_argv.parse(DECLARATION, EntryPoint.MONITOR, tokens).unwrap()
            cfg = validate(DECLARATION, parsed.values).unwrap()
            POLICY.first_level(cfg, Snapshot(table))

    def baseline() -> None:
        # What a grep-based agent does: a substring test of each command line.
        for _ in range(loops):
            for name in ("imapd", "popd", "dispatcher", "job_controller"):
                any(f"/opt/SUNWmsgsr/lib/{name}" in " ".join(p.cmdline) for p in table)

    rows.append((
        f"parse + validate + first level, x{loops} (200 processes)",
        median_seconds(decide, 5), f"naive substring scan, x{loops}", median_seconds(baseline, 5),
    ))  # fmt: skip

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'median':>9}  {'baseline':>9}  ratio  baseline is")
    for label, value, base_label, base in rows:
        print(
            f"{label.ljust(width)}  {value * 1000:7.1f}ms  {base * 1000:7.1f}ms  {value / base:5.1f}  {base_label}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
