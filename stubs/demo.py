"""make demo: a whole Messaging Server deployment, driven the way VCS drives it.

The seed's configuration 2 (a directory group, then message store, webmail and MTA groups
that need it) runs on stand-in installations in a temporary directory, under the stand-in
VCS engine (stubs.vcsengine), which calls the installed entry points exactly as the
Script50Agent framework would. The story: everything online in order; imapd killed;
the store made not ready; an IMAP probe that hangs; the store group switched over to the
standby node and back; the agent's own IMAP probe against a real Dovecot (the stand-in
imapd when Dovecot is not installed); everything offline. Each step says what happened
and why, and is checked; the exit code is 0 only when every check passed.

    python -m stubs.demo [--standin-ds] [--no-fqdn] [--verbose]

No VCS, no cluster and no root needed; nothing is left running or on disk afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Final

import psutil

from jescore.policy import argv as vcs_argv
from jescore.policy.declaration import Raw
from jescore.policy.registry import POLICIES
from stubs.demo_world import PROBE_PASSWORD, PROBE_USER, Deployment, World
from stubs.mailservers import Daemon, dovecot_available, start_dovecot
from stubs.vcsengine import Engine, Event, EventKind, ResState
from stubs.vcsengine_status import format_event

TIME_SCALE: Final = 0.05  # a 60 s MonitorInterval takes 3 s
TIMEOUT_SCALE: Final = 1 / 6  # a 60 s MonitorTimeout is a 10 s budget
STEP_LIMIT: Final = 40.0  # wall-clock seconds any one step may take before it counts as failed
OTHER_GROUPS: Final = ("store_sg", "webmail_sg", "mta_sg")
STANDBY: Final = "node4"
STORE_DAEMONS: Final = ("stored", "imsched", "watcher", "imapd", "popd")
CORE_DAEMONS: Final = ("stored", "imsched", "watcher")  # each installation's core resource
NATIVE_BUDGET: Final = 8  # seconds (AEPTimeout) of the native probe step's monitor calls


# --- output ------------------------------------------------------------------------------


class Out:
    """Plain text for files and pipes; a little colour on a terminal (unless NO_COLOR).

    The demo's temporary directory is shown as $D, so paths stay short."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.work = ""
        self.blank = True  # the last line printed was empty

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def line(self, text: str = "") -> None:
        if self.work:
            text = text.replace(self.work, "$D")
        print(text, flush=True)
        self.blank = not text

    def gap(self) -> None:
        """One empty line, unless there is one already."""
        if not self.blank:
            self.line()

    def heading(self, text: str) -> None:
        self.gap()
        self.line(self.paint(f"=== {text} ", "1") + "=" * max(3, 86 - len(text)))

    def say(self, text: str) -> None:
        self.line(f"  {text}")

    def block(self, text: str, prefix: str = "    ") -> None:
        for row in text.rstrip("\n").splitlines():
            self.line(f"{prefix}{row}")


# --- the story ---------------------------------------------------------------------------


@dataclass
class Check:
    step: str
    what: str
    ok: bool


@dataclass
class Demo:
    dep: Deployment
    work: Path
    engine: Engine
    out: Out
    verbose: bool = False
    types: dict[str, str] = field(default_factory=dict)  # resource -> type
    watched: set[str] = field(default_factory=set)  # resources whose every monitor is shown
    checks: list[Check] = field(default_factory=list)
    step_name: str = ""
    hidden: int = 0  # routine monitors not shown in this step
    hidden_deep: int = 0  # how many of them ran the second level
    log_offset: int = 0  # how much of the agent log has been shown
    step_log_start: int = 0  # where the current step's part of the agent log begins
    # resource -> (what to say, what to do) the first time its monitor reports a problem
    on_problem: dict[str, tuple[str, Callable[[], None]]] = field(default_factory=dict)

    # --- live view -----------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Called by the engine as things happen: print what matters, and the agent log."""
        if event.kind is EventKind.ENTRY and event.entry == "monitor":
            routine = self._routine(event)
            if event.code != 110 and not routine and event.resource in self.on_problem:
                text, action = self.on_problem.pop(event.resource)
                self._print_event(event)
                action()
                self.out.say(self.out.paint(f"   -> {text}", "36"))
                return
            if routine and event.resource not in self.watched and not self.verbose:
                self.hidden += 1
                self.hidden_deep += self._deep(event)
                self._agent_log(show=False)
                return
        if self.verbose or self._worth_showing(event):
            self._print_event(event)
        elif event.kind is EventKind.ENTRY:
            self._agent_log(show=False)

    def _worth_showing(self, event: Event) -> bool:
        """The short view: what the SunJES agents do, and where things end up."""
        if event.kind is EventKind.ENTRY:
            # The bundled stand-ins' calls: their state changes tell the story.
            return self.types.get(event.resource, "").startswith("SunJES")
        if event.kind is EventKind.RESOURCE:
            return event.text not in ("probed", "online called", "offline called")
        if event.kind is EventKind.GROUP:  # where it ends up, not each step on the way
            return event.new in ("ONLINE", "OFFLINE") or "FAULTED" in event.new
        return True

    def _routine(self, event: Event) -> bool:
        """A monitor that only confirms the state the engine already has (or a probe)."""
        if event.timed_out or event.code is None:
            return False
        state = self.engine.state(event.resource)
        if state is ResState.UNPROBED:
            return True
        if state is ResState.ONLINE and event.code == 110:
            return True
        return state in (ResState.OFFLINE, ResState.FAULTED) and event.code == 100

    def _deep(self, event: Event) -> bool:
        """This monitor call ran the second level: it was due (the engine counts calls as
        the agent does; the count is read before the engine adds this call) and the first
        level passed."""
        return event.code == 110 and self.engine.second_level_due_in(event.resource) == 1

    def _print_event(self, event: Event) -> None:
        text = format_event(event)
        if event.kind is EventKind.ENTRY and event.entry == "monitor":
            due = self.engine.second_level_due_in(event.resource)
            up = self.engine.state(event.resource) in (ResState.ONLINE, ResState.GOING_ONLINE)
            if due is not None and up:
                text += "  [second level due]" if due == 1 else "  [first level only]"
        if event.kind is EventKind.ENTRY and event.entry != "monitor":
            text = self.out.paint(text, "1")
        elif event.kind in (EventKind.FAULT, EventKind.FAILOVER):
            text = self.out.paint(text, "31")
        elif event.kind in (EventKind.RESTART, EventKind.SWITCH, EventKind.GROUP):
            text = self.out.paint(text, "33")
        self.out.line(f"  {text}")
        if event.kind is EventKind.ENTRY:
            self._agent_log()

    def _agent_log(self, *, show: bool = True) -> None:
        """The lines the agents wrote since last time, indented under the call (warnings
        and errors even when the call itself is not shown)."""
        try:
            with self.dep.log.open("rb") as handle:
                handle.seek(self.log_offset)
                data = handle.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.log_offset += end
        for row in data[:end].decode("utf-8", "replace").splitlines():
            if show or " VCS WARNING " in row or " VCS ERROR " in row:
                self.out.line(self.out.paint(f"      | {row}", "2"))

    def status(self, why: str) -> None:
        self.out.gap()
        self.out.say(f"hastatus -sum ({why}):")
        self.out.block(self.engine.status(color=self.out.color))

    # --- bookkeeping ---------------------------------------------------------------------

    def step(self, title: str, why: str, *, watch: Sequence[str] = ()) -> int:
        self._hidden_note()
        self.step_name = title
        self.step_log_start = self.dep.log.stat().st_size if self.dep.log.exists() else 0
        self.watched = set(watch)
        self.on_problem.clear()
        self.out.heading(title)
        for row in why.splitlines():
            self.out.say(self.out.paint(row, "36"))
        self.out.gap()
        return len(self.engine.events)

    def _hidden_note(self) -> None:
        if self.hidden:
            self.out.say(
                f"({self.hidden} routine monitor calls, {self.hidden_deep} of them with the"
                " second level, confirmed their resource's state; --verbose shows them)"
            )
            self.hidden = self.hidden_deep = 0

    def check(self, what: str, ok: bool) -> bool:
        self._hidden_note()
        self.checks.append(Check(self.step_name, what, ok))
        mark = self.out.paint("ok", "32") if ok else self.out.paint("FAILED", "31;1")
        self.out.say(f"check: {what} ... {mark}")
        return ok

    def since(self, mark: int) -> list[Event]:
        return list(self.engine.events[mark:])

    def calls_since(self, mark: int, resource: str | None = None) -> list[str]:
        """`resource:entry(reason)` for each entry-point call, `=code` after monitors."""
        out = []
        for e in self.since(mark):
            if e.kind is not EventKind.ENTRY or (resource and e.resource != resource):
                continue
            reason = f"({e.reason.value})" if e.reason is not None else ""
            code = f"={e.code}" if e.entry == "monitor" else ""
            out.append(f"{e.resource}:{e.entry}{reason}{code}")
        return out

    def run_until(self, done: Callable[[], bool], limit: float = STEP_LIMIT) -> bool:
        """Let the engine run (monitors come due on their own) until `done` or the limit."""
        deadline = time.monotonic() + limit
        while not done():
            if time.monotonic() >= deadline:
                return False
            # At most half a second ahead: `done` is looked at between monitors.
            if not self.engine.tick(until=self.engine.now() + 0.5 / TIME_SCALE):
                time.sleep(0.05)
        return True

    def settle(self) -> bool:
        return self.engine.settle(limit=STEP_LIMIT / TIME_SCALE)

    # --- the steps -----------------------------------------------------------------------

    def online_all(self) -> None:
        mark = self.step(
            "1. Everything online, in dependency order",
            "hagrp -online for every group. The store, webmail and MTA groups `require group\n"
            "dir_sg online global soft`, so the engine starts nothing of theirs until dir_sg is\n"
            "online; inside a group, `requires` links start children (DiskGroup) first, and\n"
            "independent resources start together. The NIC is persistent (Operations None):\n"
            "only monitored, never brought online or taken offline.",
        )
        self.engine.online_all(wait=False)
        settled = self.settle()
        config = self.dep.config
        self.check("every group settled ONLINE", settled and self._all_groups("ONLINE"))
        events = self.since(mark)
        onlines = [e for e in events if e.kind is EventKind.ENTRY and e.entry == "online"]
        first_online: dict[str, int] = {}
        for e in onlines:
            first_online.setdefault(e.resource, e.seq)
        dir_up = max(
            (
                e.seq
                for e in events
                if e.kind is EventKind.RESOURCE and e.group == "dir_sg" and e.new == "ONLINE"
            ),
            default=-1,
        )
        others = [e.seq for e in onlines if e.group in OTHER_GROUPS]
        self.check(
            "dir_sg was wholly online before any resource of the groups that need it started",
            dir_up >= 0 and bool(others) and dir_up < min(others),
        )
        up_at: dict[str, int] = {}
        for e in events:
            if e.kind is EventKind.RESOURCE and e.new == "ONLINE":
                up_at.setdefault(e.resource, e.seq)
        in_order = all(
            link.child in up_at
            and link.parent in first_online
            and up_at[link.child] < first_online[link.parent]
            for group in config.groups
            for link in group.links
        )
        self.check(
            "inside each group, every child was online before what requires it started", in_order
        )
        nics = {r.name for g in config.groups for r in g.resources if r.type_name == "NIC"}
        self.check(
            "the NICs were only monitored: no online or offline call",
            bool(nics) and not any(e.resource in nics for e in onlines),
        )
        i = self.dep.installs
        self.check(
            "the servers run: ns-slapd, the Administration Server, stored, imapd, popd,"
            " mshttpd, the MTA, and the webmail and MTA installations' core processes",
            bool(i.ds.pids())
            and i.admin.is_running()
            and all(i.store.pids(d) for d in STORE_DAEMONS)
            and bool(i.webmail.pids("mshttpd"))
            and bool(self._mta_pids())
            and all(s.pids(d) for s in (i.webmail, i.mta) for d in CORE_DAEMONS),
        )
        self.status("everything online")
        last = self.engine.calls("store_access", "monitor")[-1]
        self.out.gap()
        self.out.say(
            "How the engine calls an entry point (V50 arguments; the budget in AEPTimeout;"
        )
        self.out.say("the password as stored, encrypted, and masked here), store_access's monitor:")
        program = self.work / "agents" / "SunJESMsg" / "monitor"
        self.out.say(f"  {program} {' '.join(a or repr('') for a in last.argv)}")

    def kill_imapd(self) -> None:
        mark = self.step(
            "2. imapd is killed",
            "SIGKILL to imapd, as a crash would. Nobody tells the engine: the next periodic\n"
            "monitor of store_access (every MonitorInterval) finds the process gone and says\n"
            "offline; the engine calls clean with reason 4 (unexpected offline), then, since\n"
            "RestartLimit is 2, brings the resource online again on the same node.",
            watch=("store_access",),
        )
        store = self.dep.installs.store
        old = store.kill("imapd")
        killed_at = self.engine.now()
        self.out.say(f"killed imapd (pid {', '.join(map(str, old))}) at engine time "
                     f"{killed_at:.1f} s")  # fmt: skip
        self.out.gap()
        done = self.run_until(lambda: self._restarted("store_access", mark))
        calls = self.calls_since(mark, "store_access")
        self.check(
            "the periodic monitor saw imapd gone and answered 100",
            "store_access:monitor=100" in calls,
        )
        detected = next(
            (e for e in self.since(mark) if e.resource == "store_access" and e.code == 100), None
        )
        if detected is not None:
            self.out.say(
                f"detected {detected.at - killed_at:.0f} engine seconds after the kill "
                f"(MonitorInterval {self.engine.params('store_access').monitor_interval} s)"
            )
        self.check(
            "clean ran with reason 4, then online, then a monitor confirmed it",
            done and _in_order(calls, ["store_access:clean(4)", "store_access:online",
                                       "store_access:monitor=110"]),
        )  # fmt: skip
        new = store.pids("imapd")
        self.check(
            f"a new imapd runs (pid {', '.join(map(str, new)) or 'none'}) and store_core was"
            " left alone",
            bool(new)
            and not set(new) & set(old)
            and not [c for c in self.calls_since(mark, "store_core") if "monitor" not in c],
        )
        self.check(
            "the agent logged why",
            "the resource went offline unexpectedly" in self._step_log(),
        )

    def store_not_ready(self) -> None:
        mark = self.step(
            "3. The message store stops being ready",
            "stored keeps running but stops answering as ready (`stored -t -v` fails), like a\n"
            "store stuck in recovery. Its processes are all there, so only the second level can\n"
            "see it: store_core has SecondLevelMonitor 1, a deep check on every monitor.",
            watch=("store_core",),
        )
        store = self.dep.installs.store
        seen: list[bool] = []

        def lift() -> None:
            seen.append(bool(store.pids("stored")))
            store.clear("stored.notready")

        store.inject("stored.notready")
        self.on_problem["store_core"] = (
            "caught. The demo lifts the fault now, as if the store had recovered, so the"
            " restart that follows finds it healthy.",
            lift,
        )
        done = self.run_until(lambda: self._restarted("store_core", mark))
        calls = self.calls_since(mark, "store_core")
        self.check(
            "store_core's monitor answered 100 while stored was still running",
            "store_core:monitor=100" in calls and seen == [True],
        )
        text = self._step_log()
        self.check(
            "the agent logged that the store check failed (stored -t -v)",
            "(stored -t -v) failed" in text,
        )
        self.check(
            "clean with reason 4, then a local restart brought store_core back",
            done and _in_order(calls, ["store_core:clean(4)", "store_core:online",
                                       "store_core:monitor=110"]),
        )  # fmt: skip

    def imap_hangs(self) -> None:
        mark = self.step(
            "4. IMAP stops answering (a hung probe)",
            "imapd keeps its port open but never answers, so a login test would wait forever.\n"
            "store_access has SecondLevelMonitor 2: every second monitor logs in over IMAP and\n"
            "POP. The agent gives each probe a share of the time VCS allows the monitor\n"
            "(AEPTimeout = MonitorTimeout), so the monitor still answers in time, instead of\n"
            "being killed by the engine with nothing learnt.",
            watch=("store_access",),
        )
        store = self.dep.installs.store
        # Start when the next monitor is a first-level one, to show that it cannot tell.
        self.run_until(lambda: self.engine.second_level_due_in("store_access") == 2)
        store.inject("imapd.hang")
        self.status("imapd hangs from now on; see store_access's second level")
        self.out.say(
            "store_access's second level is due in 2 cycles: the next monitor checks the"
            " processes only, the one after logs in."
        )
        self.out.gap()
        self.on_problem["store_access"] = (
            "caught within the budget. The demo lifts the fault, so the restart finds a"
            " working imapd.",
            lambda: store.clear("imapd.hang"),
        )
        done = self.run_until(lambda: self._restarted("store_access", mark))
        monitors = [
            e for e in self.since(mark) if e.resource == "store_access" and e.entry == "monitor"
        ]
        self.check(
            "the first-level-only monitor still answered 110 (processes are all there)",
            bool(monitors) and monitors[0].code == 110,
        )
        caught = next((e for e in monitors if e.code == 100), None)
        budget = self.engine.params("store_access").monitor_timeout * TIMEOUT_SCALE
        if caught is not None and caught.seconds is not None:
            self.out.say(
                f"timing: that monitor took {caught.seconds:.1f} s of its {budget:.0f} s budget"
                f" (MonitorTimeout {self.engine.params('store_access').monitor_timeout} s,"
                f" scaled by {TIMEOUT_SCALE:.3g} for the demo; AEPTimeout passed:"
                f" {budget:.0f})"
            )
        self.check(
            "the second-level monitor answered 100 before its MonitorTimeout, not killed",
            caught is not None
            and caught.seconds is not None
            and caught.seconds < budget
            and not any(e.timed_out for e in monitors),
        )
        text = self._step_log()
        self.check("the agent logged the IMAP probe that did not answer", "imap" in text.lower())
        self.check(
            "clean (4) and a second local restart; the group stayed on its node",
            done
            and _in_order(self.calls_since(mark, "store_access"),
                          ["store_access:clean(4)", "store_access:online"])
            and self.engine.node("store_sg") == "node2"
            and self.engine.counters("store_access").restarts == 2,
        )  # fmt: skip

    def switch(self) -> None:
        mark = self.step(
            "5. Switch the message store group to the standby node, and back",
            "hagrp -switch store_sg -to node4: the engine takes the group offline in reverse\n"
            "dependency order (IMAP/POP, then the core, then mount and IP, then the disk\n"
            "group; the NIC stays up) and brings it online on node4 (here the same host,\n"
            "standing in for another node).\n"
            "The directory, webmail and MTA groups are not touched.",
        )
        store = self.dep.installs.store
        before = store.pids("stored")
        self.engine.switch("store_sg", to=STANDBY, wait=False)
        settled = self.settle()
        offline = [
            e.resource
            for e in self.since(mark)
            if e.kind is EventKind.ENTRY and e.entry == "offline"
        ]
        self.check(
            f"store_sg is ONLINE on {STANDBY}",
            settled
            and self.engine.node("store_sg") == STANDBY
            and self.engine.group_state("store_sg") == "ONLINE",
        )
        # Each pair: (parent, child), from the group's requires links. Mount and IP go
        # down together, so between them the order is whichever answered first.
        links = [
            ("store_access", "store_core"),
            ("store_core", "store_mnt"),
            ("store_core", "store_ip"),
            ("store_mnt", "store_dg"),
        ]
        self.check(
            "offline went parents first: access, core, then mount and IP, then the disk group",
            all(
                parent in offline and child in offline
                and offline.index(parent) < offline.index(child)
                for parent, child in links
            ),
        )  # fmt: skip
        self.check(
            "the store was restarted (a new stored process)",
            bool(store.pids("stored")) and not set(store.pids("stored")) & set(before),
        )
        self.status(f"store_sg on {STANDBY}")
        self.out.gap()
        self.out.say("hagrp -switch store_sg -to node2: and back again")
        self.out.gap()
        self.engine.switch("store_sg", to="node2", wait=False)
        settled = self.settle()
        self.check(
            "store_sg is ONLINE on node2 again",
            settled
            and self.engine.node("store_sg") == "node2"
            and self.engine.group_state("store_sg") == "ONLINE",
        )
        touched = {
            e.resource
            for e in self.since(mark)
            if e.kind is EventKind.ENTRY and e.entry != "monitor"
        }
        self.check(
            "no resource of another group was stopped or started",
            all(r.startswith("store_") for r in touched),
        )

    def native_probe(self) -> None:
        self.step(
            "6. The agent's own IMAP probe (NativeProbes = 1)",
            "Where immonitor-access is missing (a trimmed install, a Pacemaker node) or\n"
            "NativeProbes = 1, the agent speaks the protocol itself and says which step\n"
            "failed and how long each took. Here the installed monitor entry point is called\n"
            "once more by hand (resource native_demo, store_access's attributes) while the\n"
            "store's imapd runs, for the first level.",
        )
        store = self.dep.installs.store
        server: Daemon | None = None
        if dovecot_available():
            server = start_dovecot(users={PROBE_USER: PROBE_PASSWORD}, tls=False)
            port = server.ports["imap"]
            self.out.say(f"speaking to a real Dovecot on 127.0.0.1:{port}")
        else:
            port = store.ports["imap"]
            self.out.say(
                "Dovecot is not installed (stubs/install_mail.sh installs it): falling back to"
                f" the stand-in imapd on 127.0.0.1:{port}, which speaks enough IMAP"
            )
        try:
            self._native_monitors(port, server)
        finally:
            if server is not None:
                server.destroy()

    def _native_monitors(self, port: int, server: Daemon | None) -> None:
        (found,) = [r for _, r in self.dep.config.resources() if r.name == "store_access"]
        values = dict(found.values) | {
            "MsgServices": ("imap", str(port)),
            "NativeProbes": ("1",),
            "SecondLevelMonitor": ("1",),
        }
        healthy = self._monitor(values)
        self.check(
            "the native probe logged in and out, each phase timed (online, 110)",
            healthy == 110 and f"IMAP 127.0.0.1:{port} answered (connect" in self._step_log(),
        )
        wrong = self._monitor(
            values | {"LDAPTestPasswd": (self.dep.installs.helper.encrypt("x1"),)}
        )
        self.check(
            "a wrong password fails at LOGIN (offline, 100)",
            wrong == 100 and "failed at LOGIN after" in self._step_log(),
        )
        if server is None:
            return
        server.pause()
        began = time.monotonic()
        stalled = self._monitor(values)
        took = time.monotonic() - began
        server.resume()
        self.out.say(f"Dovecot SIGSTOPped: that monitor took {took:.1f} s of its {NATIVE_BUDGET} s")
        self.check(
            "a SIGSTOPped Dovecot fails at GREETING within the budget (offline, 100)",
            stalled == 100
            and "failed at GREETING after" in self._step_log()
            and took < NATIVE_BUDGET,
        )
        self.check("the password was never logged", PROBE_PASSWORD not in self._step_log())

    def _monitor(self, values: dict[str, Raw]) -> int:
        decl = POLICIES["SunJESMsg"].declaration
        engine = {"State": "2", "IState": "0", "AEPTimeout": str(NATIVE_BUDGET)}
        args = vcs_argv.render_v50(decl, "native_demo", values, engine, None)
        program = self.work / "agents" / "SunJESMsg" / "monitor"
        done = subprocess.run(  # the installed entry point, without a shell
            [str(program), *args], env={**os.environ, **self.dep.env}, capture_output=True,
            timeout=NATIVE_BUDGET * 3, check=False,
        )  # fmt: skip
        self.out.line(f"  monitor native_demo -> {done.returncode}")
        self._agent_log()
        return done.returncode

    def offline_all(self) -> None:
        mark = self.step(
            "7. Everything offline",
            "hagrp -offline for every group: parents first. The store, webmail and MTA groups\n"
            "go down before dir_sg, whose resources go down IP and mount last. The NICs stay\n"
            "up, and a group counts as offline without them, as under VCS.",
        )
        self.engine.offline_all(wait=False)
        settled = self.settle()
        self.check("every group settled OFFLINE", settled and self._all_groups("OFFLINE"))
        offline = [
            e for e in self.since(mark) if e.kind is EventKind.ENTRY and e.entry == "offline"
        ]
        first_dir = min((e.seq for e in offline if e.group == "dir_sg"), default=-1)
        last_other = max((e.seq for e in offline if e.group in OTHER_GROUPS), default=-1)
        self.check(
            "dir_sg went offline only after the groups that need it",
            0 <= last_other < first_dir,
        )
        self.check(
            "no NIC was taken offline",
            not any(e.resource.endswith("_nic") for e in offline),
        )
        i = self.dep.installs
        self.check(
            "no server process of a resource is left",
            not i.ds.pids()
            and not i.admin.is_running()
            and not any(i.store.pids(d) for d in STORE_DAEMONS)
            and not i.webmail.pids("mshttpd")
            and not self._mta_pids()
            and not any(s.pids(d) for s in (i.webmail, i.mta) for d in CORE_DAEMONS),
        )
        self.check("no entry point was killed at its timeout", not any(
            e.timed_out for e in self.engine.calls()
        ))  # fmt: skip
        self.status("everything offline")

    # --- helpers -------------------------------------------------------------------------

    def _mta_pids(self) -> list[int]:
        i = self.dep.installs
        return [p for d in i.mta_daemons() for p in i.mta.pids(d)]

    def _all_groups(self, state: str) -> bool:
        config = self.dep.config
        return all(self.engine.group_state(g.name) == state for g in config.groups)

    def _restarted(self, resource: str, mark: int) -> bool:
        """A local restart since mark, and the resource is ONLINE again afterwards."""
        restarts = [
            e.seq
            for e in self.since(mark)
            if e.kind is EventKind.RESTART and e.resource == resource
        ]
        if not restarts:
            return self.engine.state(resource) is ResState.FAULTED
        return self.engine.state(resource) is ResState.ONLINE and any(
            e.kind is EventKind.RESOURCE and e.resource == resource and e.new == "ONLINE"
            for e in self.engine.events[restarts[-1] :]
        )

    def _step_log(self) -> str:
        """What the agents logged since this step began."""
        try:
            with self.dep.log.open("rb") as handle:
                handle.seek(self.step_log_start)
                return handle.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def _in_order(items: Sequence[str], wanted: Sequence[str]) -> bool:
    """`wanted` appears in `items` in this order (other items may come between)."""
    position = 0
    for item in items:
        if position < len(wanted) and item == wanted[position]:
            position += 1
    return position == len(wanted)


# --- leftovers ---------------------------------------------------------------------------


def leftovers(work: Path) -> list[str]:
    """Live processes that mention the demo's directory (zombies have no command line)."""
    mine = str(work)
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            words = proc.info["cmdline"] or []
            if any(mine in w for w in words) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{proc.info['pid']} {' '.join(words)[:120]}")
        except psutil.Error:
            continue
    return found


# --- main --------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stubs.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--standin-ds",
        action="store_true",
        help="use the stand-in Directory Server even when 389 is installed",
    )
    parser.add_argument(
        "--no-fqdn",
        action="store_true",
        help="behave as if mail.jesagent.test did not resolve (the MTA group manages sms)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show routine monitors and probes too"
    )
    return parser


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally: nothing left running


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    out = Out(color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="jesagent-demo-"))
    world = World(
        work,
        use_389=False if args.standin_ds else None,
        use_fqdn=False if args.no_fqdn else None,
    )
    demo: Demo | None = None
    failure, code = "", 1
    out.line(
        out.paint("jesagent demo: a Messaging Server deployment, driven the way VCS drives it", "1")
    )
    out.say(
        f"Stand-in VCS engine, time scaled by {TIME_SCALE:g} (a 60 s MonitorInterval takes"
        f" {60 * TIME_SCALE:g} s), entry-point budgets by {TIMEOUT_SCALE:.3g}."
    )
    out.say("Times in the event lines are engine (VCS) seconds; durations in brackets are real.")
    out.say(f"$D below is the demo's temporary directory, {work}.")
    out.work = str(work)
    try:
        out.heading("0. Setting up")
        out.say("building the stand-ins (a real 389 instance takes about ten seconds) ...")
        dep = world.build()
        for note in world.notes:
            out.say(f"- {note}")
        out.say("- configuration: docs/samples/config2-group-per-component.cf, loaded with the")
        out.say("  engine's loader and re-pointed at the stand-ins. Passwords are encrypted with")
        out.say("  the stand-in vcsencrypt. Added: RestartLimit on the two store resources, an")
        out.say("  admin user for dir_adm's second level, ResLogLevel TRACE on store_access:")
        for change in world.changes:
            out.say(f"    {change}")
        with Engine(
            dep.config,
            env=dep.env,
            time_scale=TIME_SCALE,
            timeout_scale=TIMEOUT_SCALE,
            on_event=lambda e: demo.on_event(e) if demo is not None else None,
        ) as engine:
            types = {r.name: r.type_name for _, r in dep.config.resources()}
            demo = Demo(dep, work, engine, out, verbose=args.verbose, types=types)
            for step in (
                demo.online_all,
                demo.kill_imapd,
                demo.store_not_ready,
                demo.imap_hangs,
                demo.switch,
                demo.native_probe,
                demo.offline_all,
            ):
                step()
    except Exception as exc:  # whatever it was, stop everything and say what happened
        failure = f"{type(exc).__name__}: {exc}"
        out.say(out.paint(f"the demo could not go on: {failure}", "31;1"))
    except KeyboardInterrupt:
        failure, code = "interrupted", 130
    except SystemExit as exc:  # SIGTERM (see _stop)
        failure, code = "stopped by a signal", exc.code if isinstance(exc.code, int) else 1
    finally:
        problems = world.close()
    left = leftovers(work)
    out.heading("Summary")
    for problem in problems:
        out.say(f"cleanup: {problem}")
    for row in left:
        out.say(f"left running: {row}")
    checks = demo.checks if demo is not None else []
    failed = [c for c in checks if not c.ok]
    for c in failed:
        out.say(out.paint(f"FAILED in {c.step}: {c.what}", "31"))
    if failure:
        out.say(out.paint(f"FAILED: {failure}", "31"))
    seconds = time.monotonic() - started
    ok = not failure and not failed and not problems and not left and len(checks) > 0
    verdict = "every step behaved as the story says" if ok else "NOT every step behaved"
    steps = len({c.step for c in checks})
    out.line(
        f"demo: {verdict}: {len(checks) - len(failed)} of {len(checks)} checks passed in"
        f" {steps} steps, {seconds:.0f} s, directory server "
        f"{'389' if world.real_389 else 'stand-in'}, "
        f"{'nothing left running' if not left else f'{len(left)} processes left running'}"
    )
    return 0 if ok else code


if __name__ == "__main__":
    sys.exit(main())
