"""A stand-in for VCS's halog, so that the agents' log route through VCS runs for real.

    install_halog(vcs_home) -> Path      # writes <vcs_home>/bin/halog
    set_logdbg(vcs_home, type_name, ["DBG_1", ...])   # the type's LogDbg, as VCS knows it

halog -add TEXT -sev C|E|W|N|I [-msgid N] appends TEXT to <vcs_home>/log/engine_A.log,
where VCS 5.x keeps what agents hand to halog, stamped and with its severity and message
id; halog -add TEXT -dbg N appends it as a debug line only when the type's LogDbg names
DBG_N (the type is TEXT's first field, Type:resource:entry:...), as VCS filters debug
lines. Anything else is a usage error (exit 1). The lines read as the agents' own
fallback log does (shell/logsink.py), so the demo reads either the same way. It is a
shell script: each agent log line starts one halog, and a Python one would cost each
line ten times as much.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from jescore.policy.vcs import DEBUG_CATEGORY, MESSAGE_CATEGORY

_SCRIPT = r"""#!/bin/sh
# Stand-in halog written by stubs/halog.py: see there.
home='@HOME@'
log="$home/log/engine_A.log"
usage() {
    echo "usage: halog -add <text> [-sev C|E|W|N|I] [-msgid <n>] | -add <text> -dbg <n>" >&2
    exit 1
}
[ "$1" = "-add" ] && [ $# -ge 2 ] || usage
text=$2
shift 2
sev=I
msgid=0
dbg=
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        -sev) sev=$2 ;;
        -msgid) msgid=$2 ;;
        -dbg) dbg=$2 ;;
        *) usage ;;
    esac
    shift 2
done
mkdir -p "$home/log"
stamp=$(date '+%Y/%m/%d %H:%M:%S')
if [ -n "$dbg" ]; then
    type=${text%%:*}
    wanted=$(cat "$home/conf/LogDbg/$type" 2>/dev/null)
    case " $wanted " in
        *" DBG_$dbg "*) ;;
        *) exit 0 ;;
    esac
    printf '%s VCS DBG_%s V-16-@DEBUG@-0 %s\n' "$stamp" "$dbg" "$text" >> "$log"
    exit 0
fi
case $sev in
    C) word=CRITICAL ;; E) word=ERROR ;; W) word=WARNING ;; N) word=NOTICE ;; I) word=INFO ;;
    *) usage ;;
esac
printf '%s VCS %s V-16-@CATEGORY@-%s %s\n' "$stamp" "$word" "$msgid" "$text" >> "$log"
"""


def install_halog(vcs_home: Path) -> Path:
    """Write <vcs_home>/bin/halog and return its path."""
    program = vcs_home / "bin" / "halog"
    program.parent.mkdir(parents=True, exist_ok=True)
    text = (
        _SCRIPT.replace("@HOME@", str(vcs_home).replace("'", "'\\''"))
        .replace("@DEBUG@", str(DEBUG_CATEGORY))
        .replace("@CATEGORY@", str(MESSAGE_CATEGORY))
    )
    program.write_text(text)
    program.chmod(0o755)
    return program


def engine_log(vcs_home: Path) -> Path:
    """Where the stand-in halog writes."""
    return vcs_home / "log" / "engine_A.log"


def set_logdbg(vcs_home: Path, type_name: str, levels: Iterable[str]) -> None:
    """The type's LogDbg as VCS would hold it: which debug lines halog keeps."""
    folder = vcs_home / "conf" / "LogDbg"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / type_name).write_text(" ".join(levels) + "\n")
