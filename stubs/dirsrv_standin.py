"""Stand-ins for the parts of a Sun Directory Server 5.x that 389 cannot show.

- ``ServerRoot/shared/bin/ldapsearch``: Sun DS 5.x shipped the Mozilla LDAP C SDK's
  ldapsearch there. It speaks ``-h host -p port`` and prints a ``version: 1`` line before
  the entries; Debian's OpenLDAP ldapsearch speaks ``-x -H ldap://host:port``. The stand-in
  takes the Mozilla dialect, runs OpenLDAP's tool underneath and refuses OpenLDAP-only
  command lines, so a test can tell which dialect an agent speaks.
- A 5.x ``start-slapd`` for an SSL instance whose certificate database PIN is not stored:
  it asks "Enter PIN for Internal (Software) Token:" and reads the PIN from standard input.
"""

from __future__ import annotations

import hashlib
import secrets
import shlex
import sys
from pathlib import Path

from stubs.dirsrv389 import render_start_slapd, write_script

OPENLDAP_LDAPSEARCH = Path("/usr/bin/ldapsearch")
PIN_PROMPT = "Enter PIN for Internal (Software) Token:"

# The generated program. Placeholders in @...@ are filled in by install_sun_ldapsearch.
_LDAPSEARCH_PROGRAM = r'''
"""Sun/Mozilla-dialect ldapsearch (stand-in) over OpenLDAP's ldapsearch."""

import getopt
import os
import subprocess
import sys

OPENLDAP = @OPENLDAP@
PROG = "ldapsearch"
# Result codes of the Mozilla LDAP C SDK tools.
LDAP_PARAM_ERROR = 89
LDAP_SERVER_DOWN = 81
# A subset of the Mozilla options. -H (usage in the Mozilla tools) and -x (server-side
# sorting there, simple bind in OpenLDAP) are refused on purpose: an agent that passes
# them is building an OpenLDAP command line.
OPTIONS = "ALT1nvh:p:D:w:j:b:s:l:z:a:"
SCOPES = {"base": "base", "one": "one", "sub": "sub"}


def usage(why):
    if why:
        print(f"{PROG}: {why}", file=sys.stderr)
    print(
        f"usage: {PROG} -b basedn [options] filter [attributes...]\n"
        "    -h host[:port]  -p port  -D binddn  -w passwd | -w - | -j file\n"
        "    -s base|one|sub  -l timelimit  -z sizelimit  -a deref  -A  -T  -1  -L",
        file=sys.stderr,
    )
    return LDAP_PARAM_ERROR


def main(argv):
    if "-H" in argv:
        return usage("")
    try:
        opts, rest = getopt.getopt(argv, OPTIONS)
    except getopt.GetoptError as exc:
        return usage(str(exc))
    host, port, base, scope = "localhost", 389, os.environ.get("LDAP_BASEDN"), "sub"
    binddn = password = None
    extra, fold, version_line, dry_run = [], True, True, False
    for flag, value in opts:
        if flag == "-h":
            host, sep, hport = value.rpartition(":")
            if not sep or not hport.isdigit():
                host, hport = value, ""
            if hport:
                port = int(hport)
        elif flag == "-p":
            if not value.isdigit():
                return usage(f"bad port: {value}")
            port = int(value)
        elif flag == "-b":
            base = value
        elif flag == "-s":
            scope = next((s for s in SCOPES if value.lower().startswith(s)), "")
            if not scope:
                return usage("scope should be base, one, or sub")
        elif flag == "-D":
            binddn = value
        elif flag == "-w":
            password = sys.stdin.readline().rstrip("\n") if value == "-" else value
        elif flag == "-j":
            try:
                with open(value, encoding="utf-8") as handle:
                    password = handle.readline().rstrip("\n")
            except OSError as exc:
                print(f"{PROG}: {value}: {exc.strerror}", file=sys.stderr)
                return LDAP_PARAM_ERROR
        elif flag == "-l":
            extra += ["-l", value]
        elif flag == "-z":
            extra += ["-z", value]
        elif flag == "-a":
            extra += ["-a", value]
        elif flag == "-A":
            extra.append("-A")
        elif flag == "-T":
            fold = False
        elif flag == "-1":
            version_line = False
        elif flag == "-n":
            dry_run = True
    if base is None or not rest:
        return usage("a base DN (-b) and a filter are required")
    command = [OPENLDAP, "-x", "-LLL", "-H", f"ldap://{host}:{port}", "-b", base, "-s", scope]
    if not fold:
        command += ["-o", "ldif_wrap=no"]
    if binddn is not None:
        # The password goes through a pipe, never onto OpenLDAP's command line.
        command += ["-D", binddn, "-y", "/dev/stdin"]
    command += extra + ["--"] + rest
    if dry_run:
        return 0
    done = subprocess.run(
        command,
        input=(password or "").encode(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )
    out = done.stdout.decode("utf-8", "replace")
    if out.strip() and version_line:
        sys.stdout.write("version: 1\n")
    sys.stdout.write(out)
    err = done.stderr.decode("utf-8", "replace")
    if err:
        sys.stderr.write(err)
    # OpenLDAP exits 255 (-1) when it cannot reach the server; Mozilla's tools say 81.
    return LDAP_SERVER_DOWN if done.returncode == 255 else done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def install_sun_ldapsearch(
    server_root: Path, *, openldap_ldapsearch: Path = OPENLDAP_LDAPSEARCH
) -> Path:
    """Write ``server_root/shared/bin/ldapsearch`` (Mozilla dialect) and return its path."""
    target = server_root / "shared" / "bin" / "ldapsearch"
    target.parent.mkdir(parents=True, exist_ok=True)
    # -I: the agent's environment (PYTHONPATH and the like) must not leak into the tool.
    text = f"#!{sys.executable} -I\n" + _LDAPSEARCH_PROGRAM.replace(
        "@OPENLDAP@", repr(str(openldap_ldapsearch))
    )
    target.write_text(text, encoding="utf-8")
    target.chmod(0o755)
    return target


def _pin_digest(salt: str, pin: str) -> str:
    return hashlib.sha256((salt + pin).encode("utf-8")).hexdigest()


def make_prompting_start_slapd(instance_root: Path, password: str) -> None:
    """Replace start-slapd with a 5.x-style one that asks for the token PIN on stdin.

    A wrong or missing PIN: a message and exit 1, nothing started. The right one: the
    normal start. Only a salted SHA-256 of the PIN is kept, inside the script itself.
    """
    salt = secrets.token_hex(16)
    preamble = f"""
# Like a 5.x instance whose certificate database PIN is not stored: ask for it first.
PIN_SALT={shlex.quote(salt)}
PIN_SHA256={shlex.quote(_pin_digest(salt, password))}
printf '%s' {shlex.quote(PIN_PROMPT)}
pin=
IFS= read -r -t 60 pin || true
printf '\\n'
given=$(printf '%s%s' "$PIN_SALT" "$pin" | sha256sum)
if [ -z "$pin" ] || [ "${{given%% *}}" != "$PIN_SHA256" ]; then
    echo "start-slapd: incorrect PIN for Internal (Software) Token; server not started" >&2
    exit 1
fi
unset pin given
"""
    # bash for `read -t`: an agent that sends nothing must not hang the script forever.
    text = render_start_slapd(instance_root, preamble=preamble, interpreter="/bin/bash")
    write_script(instance_root / "start-slapd", text)
