"""The typing names that the entry points' modules use, free at run time.

mypy reads the real ones from `typing`; at run time these stand-ins take their place,
because importing `typing` (with the contextlib, collections and warnings it brings)
costs every VCS entry point call a few milliseconds, and the whole `ps | grep` check
the monitor replaces costs ten. Every module on an entry point's path imports its typing
names from here, and its annotation-only names under `if TYPE_CHECKING:`; a test checks
that an entry point imports no `typing` at all.
"""

TYPE_CHECKING = False  # type checkers take this name as True (PEP 484)

if TYPE_CHECKING:  # re-exported: `as` marks them so for mypy --strict
    from typing import Generic as Generic  # noqa: PLC0414
    from typing import Protocol as Protocol  # noqa: PLC0414
    from typing import TypeVar as TypeVar  # noqa: PLC0414
    from typing import cast as cast  # noqa: PLC0414
else:

    class Generic:
        """`class Box(Generic[T])` works; the parameter means nothing at run time."""

        __slots__ = ()

        def __class_getitem__(cls, _parameters):
            return cls

    class Protocol(Generic):
        """An interface the type checker holds implementations to; a plain base here."""

        __slots__ = ()

    def TypeVar(name, *_constraints, **_options):
        return name

    def cast(_type, value):
        return value
