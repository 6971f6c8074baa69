"""Reading (and writing) the argument vector VCS gives an entry point.

    <resource> [<clean reason>] <ArgList values>

The values come either as V50 name-count-values tuples (Script50Agent and later) or in the
older V40 positional form. Which form it is gets detected: a V50 vector starts with a name
the type knows followed by a count. Every input yields a value: ParsedArgs or ArgvError.
"""

from __future__ import annotations

import enum
import re

from jescore.policy.checks import shown
from jescore.policy.declaration import ENGINE_SCALARS, ENGINE_VECTORS, Declaration, Dimension, Raw
from jescore.policy.vcs import CleanReason, EntryPoint
from jescore.record import field, record
from jescore.result import Failure, Result, Success
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


_COUNT = re.compile(r"[0-9]{1,6}")
_RESOURCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
# A tuple name must look like a VCS attribute name (site extensions included).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


class ArgvForm(enum.Enum):
    V50 = "V50"
    V40 = "V40"


@record
class ArgvError:
    """Why the argument vector could not be read."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@record
class ParsedArgs:
    resource: str
    form: ArgvForm
    values: Mapping[str, Raw]
    engine: Mapping[str, str] = field(default_factory=dict)
    clean_reason: CleanReason | None = None
    warnings: tuple[str, ...] = ()

    @property
    def aep_timeout(self) -> int | None:
        """The entry point's own time budget, when the type asked VCS to pass it."""
        text = self.engine.get("AEPTimeout", "").strip()
        if _COUNT.fullmatch(text) and int(text) > 0:
            return int(text)
        return None


def looks_like_resource(name: str) -> bool:
    return bool(_RESOURCE.fullmatch(name))


def parse(
    decl: Declaration, entry: EntryPoint, argv: Sequence[str]
) -> Result[ParsedArgs, ArgvError]:
    """Read the arguments after the entry point's name."""
    tokens = tuple(argv)
    if not tokens:
        return Failure(ArgvError("no resource name was given"))
    resource = tokens[0]
    if not _RESOURCE.fullmatch(resource):
        return Failure(ArgvError(f"resource name {shown(resource)} is not a VCS resource name"))
    rest = tokens[1:]
    reason: CleanReason | None = None
    if entry is EntryPoint.CLEAN:
        if not rest:
            return Failure(ArgvError("clean needs a clean reason (0-5) after the resource name"))
        if not _COUNT.fullmatch(rest[0]) or int(rest[0]) not in {r.value for r in CleanReason}:
            return Failure(ArgvError(f"clean reason {shown(rest[0])} is not a number from 0 to 5"))
        reason = CleanReason(int(rest[0]))
        rest = rest[1:]
    if not rest:
        return Failure(ArgvError("no attribute values follow the resource name"))
    if _looks_like_v50(decl, rest):
        parsed = _parse_v50(decl, rest)
        form = ArgvForm.V50
    else:
        parsed = _parse_v40(decl, rest)
        form = ArgvForm.V40
    match parsed:
        case Success((values, engine, warnings)):
            return Success(ParsedArgs(resource, form, values, engine, reason, warnings))
        case Failure(message):
            return Failure(ArgvError(f"{form.value} arguments: {message}"))
    return Failure(ArgvError("unreadable arguments"))  # pragma: no cover


def _looks_like_v50(decl: Declaration, rest: Sequence[str]) -> bool:
    return (
        len(rest) >= 2
        and decl.dimension_of(rest[0]) is not None
        and bool(_COUNT.fullmatch(rest[1]))
    )


_Tuples = tuple[tuple[str, Raw], ...]
_Split = tuple[dict[str, Raw], dict[str, str], tuple[str, ...]]


def _parse_v50(decl: Declaration, rest: tuple[str, ...]) -> Result[_Split, str]:
    # A right-to-left pass over positions: step[i] says how the tuple starting at i reads
    # so that everything after it reads too. The literal reading is preferred; the one
    # ambiguity (an empty scalar VCS may leave out entirely) is the fallback. Linear time,
    # no recursion, so no argument vector can exhaust the stack.
    size = len(rest)
    step: list[tuple[int, bool] | str] = ["" for _ in range(size + 1)]
    step[size] = (size, False)
    for index in range(size - 1, -1, -1):
        step[index] = _step_at(decl, rest, index, step)
    found: list[tuple[str, Raw]] = []
    index = 0
    while index < size:
        here = step[index]
        if isinstance(here, str):
            return Failure(here)
        following, omitted = here
        count_end = index + 2
        found.append((rest[index], () if omitted else rest[count_end:following]))
        index = following
    return _split(decl, tuple(found))


def _step_at(
    decl: Declaration, rest: tuple[str, ...], index: int, step: list[tuple[int, bool] | str]
) -> tuple[int, bool] | str:
    name = rest[index]
    if not _NAME.fullmatch(name):
        return f"{shown(name)} is not an attribute name"
    if index + 1 >= len(rest):
        return f"{shown(name)} has no value count"
    if not _COUNT.fullmatch(rest[index + 1]):
        return f"{shown(name)}: count {shown(rest[index + 1])} is not a number"
    count = int(rest[index + 1])
    end = index + 2 + count
    omittable = count == 1 and decl.dimension_of(name) is Dimension.SCALAR
    if end > len(rest):
        if omittable and index + 2 == len(rest):
            return (index + 2, True)  # an empty scalar left out, last in the vector
        left = len(rest) - index - 2
        return f"{shown(name)}: count {count} runs past the end ({left} values follow)"
    literal = step[end]
    if not isinstance(literal, str):
        return (end, False)
    if omittable and not isinstance(step[index + 2], str):
        return (index + 2, True)
    return literal


def _split(decl: Declaration, found: _Tuples) -> Result[_Split, str]:
    values: dict[str, Raw] = {}
    engine: dict[str, str] = {}
    warnings: list[str] = []
    for name, raw in found:
        if name in values or name in engine:
            return Failure(f"{shown(name)} is given twice")
        if decl.attr(name) is not None:
            values[name] = raw
        elif name in ENGINE_SCALARS:
            engine[name] = raw[0] if raw else ""
        elif name in ENGINE_VECTORS:
            engine[name] = " ".join(raw)
        else:
            warnings.append(
                f"{shown(name)} is not an attribute of {decl.type_name}; its value is ignored"
            )
    return Success((values, engine, tuple(warnings)))


def _parse_v40(decl: Declaration, rest: tuple[str, ...]) -> Result[_Split, str]:
    values: dict[str, Raw] = {}
    engine: dict[str, str] = {}
    index = 0
    for name in decl.arglist:
        dimension = decl.dimension_of(name) or Dimension.SCALAR
        if index >= len(rest) and name in decl.added:
            break  # a types file from before the attribute was added
        if index >= len(rest):
            return Failure(f"the value of {name} is missing (argument list ends early)")
        if dimension is Dimension.SCALAR:
            raw: Raw = (rest[index],)
            index += 1
        else:
            if not _COUNT.fullmatch(rest[index]):
                return Failure(f"{name}: count {shown(rest[index])} is not a number")
            size = int(rest[index])
            if index + 1 + size > len(rest):
                return Failure(f"{name}: count {size} runs past the end")
            raw = rest[index + 1 : index + 1 + size]
            index += 1 + size
        if decl.attr(name) is not None:
            values[name] = raw
        else:
            engine[name] = " ".join(raw) if name in ENGINE_VECTORS else (raw[0] if raw else "")
    warnings: tuple[str, ...] = ()
    if index < len(rest):
        warnings = (f"{len(rest) - index} values after the ArgList are ignored",)
    return Success((values, engine, warnings))


def render_v50(
    decl: Declaration,
    resource: str,
    values: Mapping[str, Raw],
    engine: Mapping[str, str] | None = None,
    reason: CleanReason | None = None,
) -> tuple[str, ...]:
    """The argument vector Script50Agent would build (AEPTimeout appended when given)."""
    extra = dict(engine or {})
    out: list[str] = [resource]
    if reason is not None:
        out.append(str(reason.value))
    for name in decl.arglist:
        if decl.attr(name) is not None:
            raw = values.get(name, decl.attr(name).default)  # type: ignore[union-attr]
            out += [name, str(len(raw)), *raw]
        elif name in extra:
            out += _engine_tuple(name, extra.pop(name))
    for name, value in extra.items():
        out += _engine_tuple(name, value)
    return tuple(out)


def _engine_tuple(name: str, value: str) -> list[str]:
    if name in ENGINE_VECTORS:
        words = value.split()
        return [name, str(len(words)), *words]
    return [name, "1", value]


def render_v40(
    decl: Declaration,
    resource: str,
    values: Mapping[str, Raw],
    engine: Mapping[str, str] | None = None,
    reason: CleanReason | None = None,
) -> tuple[str, ...]:
    """The positional argument vector of VCS 4.x agents."""
    extra = engine or {}
    out: list[str] = [resource]
    if reason is not None:
        out.append(str(reason.value))
    for name in decl.arglist:
        attr = decl.attr(name)
        if attr is None and name in ENGINE_VECTORS:
            words = extra.get(name, "").split()
            out += [str(len(words)), *words]
        elif attr is None:
            out.append(extra.get(name, ""))
        elif attr.dimension is Dimension.SCALAR:
            raw = values.get(name, attr.default)
            out.append(raw[0] if raw else "")
        else:
            raw = values.get(name, attr.default)
            out += [str(len(raw)), *raw]
    return tuple(out)
