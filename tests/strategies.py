"""Hypothesis strategies: valid attribute sets, arbitrary argv, process tables."""

from __future__ import annotations

from hypothesis import strategies as st

from jescore.policy.declaration import Raw
from jescore.policy.msg_services import ServerType, keys_for
from jescore.policy.processes import ProcessInfo

segment = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
absolute_paths = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
labels = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
fqdns = st.lists(labels, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
hosts = st.one_of(labels, fqdns, ipv4)
ports = st.integers(1, 65535)
log_levels = st.sampled_from(["ERROR", "WARN", "INFO", "TRACE"])
users = st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True)
passwords = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*"),
    min_size=4,
    max_size=16,
)
encrypted = st.from_regex(r"[A-Za-z0-9]{4,16}", fullmatch=True)  # vcsencrypt output
monitor_programs = st.one_of(
    st.just(""),
    st.tuples(absolute_paths, st.lists(segment, max_size=2)).map(lambda t: " ".join([t[0], *t[1]])),
)


@st.composite
def msg_services(draw: st.DrawFn, server_type: ServerType) -> list[tuple[str, int]]:
    if server_type is ServerType.MSG and draw(st.booleans()):
        return [("core", draw(ports))]
    choices = [k for k in keys_for(server_type) if k != "core"]
    keys = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4, unique=True))
    return [(k, draw(ports)) for k in keys]


@st.composite
def valid_msg_values(draw: st.DrawFn) -> dict[str, Raw]:
    """Raw attribute values that SunJESMsg validation accepts."""
    server_type = draw(st.sampled_from(list(ServerType)))
    services = draw(msg_services(server_type))
    needs_fqdn = any(k in {"smtp", "lmtp"} for k, _ in services)
    host = draw(fqdns if needs_fqdn else hosts)
    with_user = draw(st.booleans())
    flat: list[str] = []
    for key, number in services:
        flat += [key, str(number)]
    return {
        "ResLogLevel": (draw(log_levels),),
        "LDAPTestPasswd": (draw(encrypted) if with_user else "",),
        "LDAPTestUser": (draw(users) if with_user else "",),
        "MonitorProgram": (draw(monitor_programs),),
        "MsgHost": (host,),
        "MsgServices": tuple(flat),
        "SecondLevelMonitor": (str(draw(st.integers(0, 1000))),),
        "ServerRoot": (draw(absolute_paths),),
        "ServerType": (server_type.value,),
        "NativeProbes": (draw(st.sampled_from(["0", "0", "1"])),),
    }


any_argv = st.lists(st.text(max_size=12), max_size=40)

DAEMONS = [
    "stored", "imsched", "watcher", "imapd", "popd", "mshttpd", "dispatcher",
    "job_controller", "enpd", "snmpagt", "sms_gateway", "AService", "bash", "imapd2",
]  # fmt: skip


@st.composite
def process_tables(draw: st.DrawFn, roots: list[str]) -> tuple[ProcessInfo, ...]:
    """Processes of several installations, look-alikes and strangers, some zombies."""
    table: list[ProcessInfo] = []
    for pid in range(100, 100 + draw(st.integers(0, 25))):
        name = draw(st.sampled_from(DAEMONS))
        root = draw(st.sampled_from([*roots, "/opt/other", *(r + "2" for r in roots)]))
        directory = draw(st.sampled_from([f"{root}/lib", f"{root}/bin", root, f"{root}/lib/x"]))
        program = draw(st.sampled_from([f"{directory}/{name}", name, f"./{name}"]))
        shown_name = draw(st.sampled_from([name, name, "python3"]))
        table.append(
            ProcessInfo(
                pid=pid,
                name=shown_name,
                cmdline=(program, "-d"),
                create_time=float(pid),
                zombie=draw(st.booleans()),
                cwd=draw(st.sampled_from([None, f"{root}/lib", "/"])),
            )
        )
    return tuple(table)
