"""Which words of an argument vector are secret, and how every output masks them.

One module for the log, parse errors, explain and doctor. A secret attribute's value is
found however the vector is meant or broken: after the attribute's name in V50 form
(with its count, a wrong count, or none), and at the attribute's place in the ArgList in
V40 form. More words than needed may be masked, never fewer. Masking covers the forms in
which messages show a value: as is, quoted with escapes, cut short by `checks.shown`, and
read as a command line's words. Counts (digits only) are never taken for a secret:
vcsencrypt's output is never one.
"""

from __future__ import annotations

import re

from jescore.policy.argv import ArgvForm, parse
from jescore.policy.checks import SHOWN_LIMIT, split_command_line
from jescore.policy.declaration import Declaration, Dimension, validate
from jescore.policy.vcs import EntryPoint
from jescore.result import Success
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


MASK = "********"
_COUNT = re.compile(r"[0-9]{1,6}")
SHOWN_MIN = 4  # a word of a secret shorter than this is not masked on its own


def secret_words(decl: Declaration, argv: Sequence[str]) -> frozenset[str]:
    """Every word of `argv` (the arguments after the entry point's name) that may be the
    value of one of the type's secret attributes."""
    tokens = tuple(argv)
    found: set[str] = set()
    for index, word in enumerate(tokens):
        if word in decl.secret_names:
            found.update(_after_name(decl, tokens, index + 1))
    # A vector that names any attribute is meant as V50: no positional guess, which would
    # mask innocent words such as counts; unless the parser reads it as V40 all the same
    # (an attribute name that is some attribute's value), when positions are what count.
    named = any(decl.dimension_of(word) is not None for word in tokens[1:])
    if not named or _read_as_v40(decl, tokens):
        found.update(_v40_secrets(decl, tokens))
    return frozenset(word for word in found if word and decl.dimension_of(word) is None)


def _after_name(decl: Declaration, tokens: tuple[str, ...], at: int) -> list[str]:
    """The value(s) after a secret attribute's name: as many as the count says (at least
    one: a count of 0 may lie) and one more, in case a count was doubled or left out; up
    to the next attribute name. Counts themselves are never masked."""
    given = int(tokens[at]) if at < len(tokens) and _COUNT.fullmatch(tokens[at]) else 0
    found: list[str] = []
    for word in tokens[at : at + 2 + max(given, 1)]:
        if decl.dimension_of(word) is not None:
            break
        if not _COUNT.fullmatch(word):
            found.append(word)
    return found


# A V40 vector whose ArgList differs from ours (an older types file, a value missing or
# doubled) shifts every position: unless it reads and validates cleanly, words this close
# to a secret's place are masked too, when long enough to be an encrypted value.
V40_SHIFT = 3
V40_SHIFTED_MIN_LENGTH = 4


def _v40_secrets(decl: Declaration, tokens: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    shift = 0 if _reads_cleanly(decl, tokens) else V40_SHIFT
    for offset in (1, 2):  # after the resource name, and after a clean reason
        for position in _v40_positions(decl, tokens[offset:]):
            exact = offset + position
            if exact < len(tokens):
                found.add(tokens[exact])
            for near in range(exact - shift, exact + shift + 1):
                if 1 <= near < len(tokens) and len(tokens[near]) >= V40_SHIFTED_MIN_LENGTH:
                    found.add(tokens[near])
    return found


def _read_as_v40(decl: Declaration, tokens: tuple[str, ...]) -> bool:
    """Whether the parser reads the vector as V40 (as monitor's or as clean's) and never as
    V50: a V50 vector of clean's, read without its reason, can pass for V40."""
    forms = set()
    for entry in (EntryPoint.MONITOR, EntryPoint.CLEAN):
        parsed = parse(decl, entry, tokens)
        if isinstance(parsed, Success):
            forms.add(parsed.unwrap().form)
    return forms == {ArgvForm.V40}


def _reads_cleanly(decl: Declaration, tokens: tuple[str, ...]) -> bool:
    """Whether the vector reads, as monitor's or as clean's, with nothing left over and
    every attribute valid."""
    for entry in (EntryPoint.MONITOR, EntryPoint.CLEAN):
        parsed = parse(decl, entry, tokens)
        if isinstance(parsed, Success):
            args = parsed.unwrap()
            if not args.warnings and isinstance(validate(decl, args.values), Success):
                return True
    return False


def _v40_positions(decl: Declaration, rest: tuple[str, ...]) -> list[int]:
    """Where the secret attributes' values sit when `rest` is read by position."""
    found: list[int] = []
    index = 0
    for name in decl.arglist:
        if index >= len(rest):
            break
        if decl.dimension_of(name) in {Dimension.SCALAR, None}:
            if name in decl.secret_names:
                found.append(index)
            index += 1
            continue
        if not _COUNT.fullmatch(rest[index]):
            break  # the vector's length cannot be told: no later position is known
        index += 1 + int(rest[index])
    return found


def _escaped(value: str) -> set[str]:
    """The ways a message may spell `value` inside quotes."""
    forms = {value, repr(value)[1:-1]}
    forms.add(value.encode("unicode_escape").decode("ascii"))
    forms.add(value.replace("\\", "\\\\").replace("'", "\\'"))
    return forms


def mask_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Every spelling to mask, longest first (so no secret is left half-shown when one is a
    prefix of another): the value, cut short as messages cut it, and read as the words of
    a command line (where it lands in MonitorProgram), each as is and quoted."""
    plain: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        plain |= {secret, secret[:SHOWN_LIMIT]}
        words = split_command_line(secret).value_or(())
        plain |= {" ".join(words)} | {w for w in words if len(w) >= SHOWN_MIN}
    forms = {form for value in plain if value for form in _escaped(value)}
    return tuple(sorted((f for f in forms if f), key=lambda f: (-len(f), f)))


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret, in every form a message may show it, replaced by MASK."""
    for form in mask_forms(secrets):
        text = text.replace(form, MASK)
    return text
