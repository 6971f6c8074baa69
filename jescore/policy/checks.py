"""Converters for attribute values: each takes the raw strings and gives a value or a reason.

Every function here is total: any input gives Success or Failure with a sentence an
administrator can act on. The reason never repeats a value of a secret attribute.
"""

from __future__ import annotations

import enum
import re

from jescore.policy.declaration import Raw
from jescore.result import Failure, Result, Success
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PORT = 65535
SHOWN_LIMIT = 60  # messages quote at most this many characters of a value


def shown(value: str, limit: int = SHOWN_LIMIT) -> str:
    """A value quoted for a message, cut short and with control characters made visible."""
    cut = value if len(value) <= limit else value[:limit] + "..."
    return repr(cut)


def single(raw: Raw) -> Result[str, str]:
    """The one value of a scalar; an omitted empty scalar reads as the empty string."""
    if len(raw) == 0:
        return Success("")
    if len(raw) == 1:
        return Success(raw[0])
    return Failure(f"expects one value, got {len(raw)}")


def text(raw: Raw) -> Result[str, str]:
    return single(raw).bind(_no_control)


def secret_text(raw: Raw) -> Result[str, str]:
    """An encrypted password (vcsencrypt output); a failure never shows the value."""
    match single(raw):
        case Success(value):
            if _CONTROL.search(value) or any(ch.isspace() for ch in value):
                return Failure("contains blanks or control characters; is it vcsencrypt output?")
            if value.startswith("-"):
                return Failure("starts with '-', which vcsencrypt never writes")
            return Success(value)
        case _:
            return Failure(f"expects one value, got {len(raw)}")


def _no_control(value: str) -> Result[str, str]:
    if _CONTROL.search(value):
        return Failure(f"{shown(value)} contains control characters")
    return Success(value)


def integer(value: str) -> Result[int, str]:
    stripped = value.strip()
    if not _DIGITS.fullmatch(stripped) or len(stripped) > 18:
        return Failure(f"{shown(value)} is not a whole number")
    return Success(int(stripped))


def port_number(value: str) -> Result[int, str]:
    match integer(value):
        case Success(number) if 1 <= number <= MAX_PORT:
            return Success(number)
        case Success(number):
            return Failure(f"port {number} is outside 1-65535")
        case _:
            return Failure(f"port {shown(value)} is not a whole number")


def port(raw: Raw) -> Result[int, str]:
    return single(raw).bind(port_number)


def optional_port(raw: Raw) -> Result[int, str]:
    """A port, where 0 (the default) means none."""
    value = single(raw).value_or("")
    if value.strip() in {"", "0"}:
        return Success(0)
    return single(raw).bind(port_number)


def count(raw: Raw) -> Result[int, str]:
    """A whole number >= 0 (an empty value reads as 0)."""
    value = single(raw).value_or("")
    if len(raw) > 1:
        return Failure(f"expects one value, got {len(raw)}")
    if value.strip() == "":
        return Success(0)
    if value.strip().startswith("-"):
        return Failure(f"{shown(value)} is negative; use 0 to turn it off")
    return integer(value)


def boolean(raw: Raw) -> Result[bool, str]:
    match single(raw):
        case Success(value) if value.strip().lower() in {"1", "true", "yes"}:
            return Success(True)
        case Success(value) if value.strip().lower() in {"0", "false", "no", ""}:
            return Success(False)
        case Success(value):
            return Failure(f"{shown(value)} is not a boolean (0 or 1)")
        case _:
            return Failure(f"expects one value, got {len(raw)}")


class LogLevel(enum.IntEnum):
    """ResLogLevel: each level logs its own messages and those of the levels above it."""

    ERROR = 1
    WARN = 2
    INFO = 3
    TRACE = 4


def log_level(raw: Raw) -> Result[LogLevel, str]:
    value = single(raw).value_or("")
    if len(raw) > 1:
        return Failure(f"expects one value, got {len(raw)}")
    if value == "":
        return Success(LogLevel.INFO)
    try:
        return Success(LogLevel[value.strip().upper()])
    except KeyError:
        return Failure(f"{shown(value)} is not one of ERROR, WARN, INFO, TRACE")


def path_components(path: str) -> tuple[str, ...]:
    """The components of a POSIX path, with empty and '.' components dropped."""
    return tuple(part for part in path.split("/") if part not in {"", "."})


def absolute_path(raw: Raw) -> Result[str, str]:
    """An absolute path, normalised (no '//' or '/./'); '..' is refused, not resolved."""
    match single(raw).bind(_no_control):
        case Success(value):
            if not value.startswith("/"):
                return Failure(f"{shown(value)} is not an absolute path")
            parts = path_components(value)
            if not parts:
                return Failure("is the root directory; give the installation's own directory")
            if ".." in parts:
                return Failure(f"{shown(value)} contains '..'; give the path without it")
            return Success("/" + "/".join(parts))
        case Failure(reason):
            return Failure(reason)
    return Failure("is not a path")  # pragma: no cover - match above is exhaustive


def is_ipv4(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 4 and all(
        _DIGITS.fullmatch(p) is not None and len(p) <= 3 and int(p) <= 255 for p in parts
    )


def is_hostname(value: str) -> bool:
    """A host name or a fully qualified domain name (RFC 1123 labels)."""
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if all(_DIGITS.fullmatch(label) for label in labels):
        return False  # all-numeric names are addresses, never host names
    return all(_LABEL.fullmatch(label) for label in labels)


def is_fqdn(value: str) -> bool:
    return is_hostname(value) and "." in value.rstrip(".")


def host(raw: Raw) -> Result[str, str]:
    """A host name, fully qualified domain name or IPv4 address."""
    match single(raw):
        case Success(value) if is_ipv4(value) or is_hostname(value):
            return Success(value)
        case Success(value):
            return Failure(f"{shown(value)} is not a host name, domain name or IPv4 address")
        case _:
            return Failure(f"expects one value, got {len(raw)}")


def account_name(raw: Raw) -> Result[str, str]:
    """A user name handed to a probe program: no blanks, never mistaken for an option."""
    match single(raw).bind(_no_control):
        case Success(value) if value.startswith("-"):
            return Failure(f"{shown(value)} starts with '-' and would be read as an option")
        case Success(value) if any(ch.isspace() for ch in value):
            return Failure(f"{shown(value)} contains blanks")
        case Success(value):
            return Success(value)
        case Failure(reason):
            return Failure(reason)
    return Failure("is not a user name")  # pragma: no cover


def split_command_line(line: str) -> Result[tuple[str, ...], str]:
    """Split a command line into words, honouring single and double quotes and backslashes.

    This is word splitting only: no variables, globs or substitutions are ever expanded,
    so the value stays data.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = False
    quote = ""
    index = 0
    while index < len(line):
        ch = line[index]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                current.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch == "\\" and index + 1 < len(line) and line[index + 1] in '"\\$`':
                index += 1
                current.append(line[index])
            else:
                current.append(ch)
        elif ch in {"'", '"'}:
            quote = ch
            in_word = True
        elif ch == "\\":
            if index + 1 >= len(line):
                return Failure("ends with a lone backslash")
            index += 1
            current.append(line[index])
            in_word = True
        elif ch.isspace():
            if in_word:
                words.append("".join(current))
                current = []
                in_word = False
        else:
            current.append(ch)
            in_word = True
        index += 1
    if quote:
        return Failure(f"has an unterminated {quote} quote")
    if in_word:
        words.append("".join(current))
    return Success(tuple(words))


def command_line(raw: Raw) -> Result[tuple[str, ...], str]:
    """MonitorProgram: empty for none, else an absolute program path and its arguments."""
    match single(raw).bind(_no_control):
        case Success(value) if value.strip() == "":
            return Success(())
        case Success(value):
            match split_command_line(value):
                case Success(words) if words and words[0].startswith("/"):
                    return Success(words)
                case Success(words):
                    first = words[0] if words else ""
                    return Failure(f"program {shown(first)} is not an absolute path")
                case Failure(reason):
                    return Failure(f"{shown(value)} {reason}")
        case Failure(reason):
            return Failure(reason)
    return Failure("is not a command line")  # pragma: no cover


_ZONE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def zone_name(raw: Raw) -> Result[str, str]:
    """A Solaris zone name, or empty for none."""
    match single(raw):
        case Success(value) if value == "" or _ZONE.fullmatch(value):
            return Success(value)
        case Success(value):
            return Failure(f"{shown(value)} is not a zone name")
        case _:
            return Failure(f"expects one value, got {len(raw)}")


def one_of(choices: tuple[str, ...], *, default: str) -> Callable[[Raw], Result[str, str]]:
    """A converter accepting one of the given words (case-insensitive, stored upper-case)."""

    def convert(raw: Raw) -> Result[str, str]:
        value = single(raw).value_or("")
        if len(raw) > 1:
            return Failure(f"expects one value, got {len(raw)}")
        if value == "":
            return Success(default)
        if value.strip().upper() in choices:
            return Success(value.strip().upper())
        return Failure(f"{shown(value)} is not one of {', '.join(choices)}")

    return convert
