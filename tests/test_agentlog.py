"""Log lines: the VCS form, one line each, filtered by level, secrets masked."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from jescore.policy.agentlog import LogRecord, Msg, format_line, one_line, wanted
from jescore.policy.checks import LogLevel
from jescore.policy.secrets import MASK
from jescore.policy.secrets import mask as redact
from tests.strategies import passwords

LINE = re.compile(
    r"^2026/11/25 12:00:00 VCS (ERROR|WARNING|INFO) V-16-10000-\d{4} SunJESMsg:r1:monitor:"
)


@given(st.text(), st.lists(passwords, min_size=1, max_size=3))
def test_no_secret_survives_masking(text: str, secrets: list[str]) -> None:
    mixed = text.join(secrets) + text + secrets[0]
    masked = redact(mixed, secrets)
    assert not any(secret in masked for secret in secrets)


@given(st.text())
def test_masking_without_secrets_changes_nothing(text: str) -> None:
    assert redact(text, []) == text
    assert redact(text, [""]) == text


@given(st.sampled_from(list(LogLevel)), st.sampled_from(list(Msg)), st.text())
def test_every_record_is_one_vcs_line(level: LogLevel, msg: Msg, text: str) -> None:
    line = format_line(
        "2026/11/25 12:00:00", LogRecord(level, msg, text), "SunJESMsg", "r1", "monitor"
    )
    assert LINE.match(line)
    assert "\n" not in line
    assert "\r" not in line


def test_control_characters_are_shown_not_obeyed() -> None:
    assert one_line("a\nb\x1b[31m") == "a\\x0ab\\x1b[31m"


def test_levels_filter_from_error_to_trace() -> None:
    assert wanted(LogLevel.INFO, LogLevel.ERROR)
    assert wanted(LogLevel.INFO, LogLevel.INFO)
    assert not wanted(LogLevel.INFO, LogLevel.TRACE)
    assert not wanted(LogLevel.ERROR, LogLevel.WARN)
    assert MASK not in "probe-secret"
