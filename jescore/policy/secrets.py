"""Which words of an argument vector are secret, and how every output masks them.

One module for the log, parse errors, explain and doctor. A secret attribute's value is
found however the vector is meant or broken: after the attribute's name in V50 form
(with its count, a wrong count, or none), and at the attribute's place in the ArgList in
V40 form. More words than needed may be masked, never fewer. Masking covers the forms in
which messages show a value: as is, quoted with escapes, and cut short by `checks.shown`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from jescore.policy.checks import SHOWN_LIMIT
from jescore.policy.declaration import Declaration, Dimension

MASK = "********"
_COUNT = re.compile(r"[0-9]{1,6}")


def secret_words(decl: Declaration, argv: Sequence[str]) -> frozenset[str]:
    """Every word of `argv` (the arguments after the entry point's name) that may be the
    value of one of the type's secret attributes."""
    tokens = tuple(argv)
    names = decl.secret_names
    found: set[str] = set()
    for index, word in enumerate(tokens):
        if word not in names or index + 1 >= len(tokens):
            continue
        after = tokens[index + 1]
        if _COUNT.fullmatch(after):
            # At least one value: a count of 0 may be a lie that hides the value after it.
            found.update(tokens[index + 2 : index + 2 + max(int(after), 1)])
        else:
            found.add(after)  # the count is missing: the value follows the name at once
    # A vector that names any attribute is meant as V50: no positional guess, which would
    # mask innocent words such as counts.
    if not any(decl.dimension_of(word) is not None for word in tokens[1:]):
        for offset in (1, 2):  # after the resource name, and after a clean reason
            found.update(_v40_secrets(decl, tokens[offset:]))
    return frozenset(word for word in found if word)


def _v40_secrets(decl: Declaration, rest: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    index = 0
    for name in decl.arglist:
        if index >= len(rest):
            break
        if decl.dimension_of(name) in {Dimension.SCALAR, None}:
            if name in decl.secret_names:
                found.add(rest[index])
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
    prefix of another)."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms |= _escaped(secret)
        if len(secret) > SHOWN_LIMIT:
            forms |= _escaped(secret[:SHOWN_LIMIT])
    return tuple(sorted((f for f in forms if f), key=lambda f: (-len(f), f)))


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret, in every form a message may show it, replaced by MASK."""
    for form in mask_forms(secrets):
        text = text.replace(form, MASK)
    return text
