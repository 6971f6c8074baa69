"""Reading (and writing) the part of the VCS configuration language the SunJES samples use.

    include "SunJESMsgTypes50.cf"
    cluster c ( Attr = value )           system s ( ... )
    type T ( static str ArgList[] = { A, B }  str A = x  int B  str C{}  keylist D )
    group G ( SystemList = { a = 0, b = 1 } )
        T r1 ( A = "x"  C = { k = v } )
        r1 requires r2
        requires group H online global soft

Everything here is pure: the caller reads the files, this module reads text. Every input
gives a value: a Configuration, or a ConfError naming the line (FileError adds the file
when several texts are read together). Nothing here raises.

Resource values become Raw tuples as Script50Agent would pass them: a scalar one value, a
vector its values, an association its keys and values interleaved. Braces without '='
(`{ imap 143 pop 110 }`, the informal spelling of the seed guide) read as an association
when the type says so, else as a vector. When the resource's type is defined in the texts
read, every attribute is checked against it: declared (or an engine attribute every
resource may set, such as Critical), of the right dimension, int and boolean values
well formed.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Mapping, Sequence

from jescore.policy.declaration import Declaration, Dimension, Raw, VcsType
from jescore.record import field, mutable_record, record
from jescore.result import Failure, Result, Success
from jescore.tooling.vcsconf_model import (
    ConfError,
    Configuration,
    Group,
    GroupDependency,
    Resource,
    ResourceLink,
    TypeAttr,
    TypeDef,
)

# ---------------------------------------------------------------------------------------
# Names and the engine's own attributes

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATTR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:@[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
_OBJECT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")
_INTEGER = re.compile(r"-?[0-9]+")
_BARE = re.compile(r"-?[A-Za-z0-9_]+")

KEYWORDS = frozenset({"include", "cluster", "system", "type", "group", "requires"})
ATTRIBUTE_TYPES = {
    "str": (VcsType.STR, None),
    "int": (VcsType.INT, None),
    "boolean": (VcsType.BOOLEAN, None),
    "keylist": (VcsType.STR, Dimension.VECTOR),
}

_S, _V, _A = Dimension.SCALAR, Dimension.VECTOR, Dimension.ASSOCIATION
_INT, _BOOL, _STR = VcsType.INT, VcsType.BOOLEAN, VcsType.STR

# Attributes every resource may carry whatever its type declares: the engine's resource
# attributes, and the type-level static attributes a resource may override
# (hares -override). A resource of a known type may set these; anything else its type
# does not declare is an error.
ENGINE_RESOURCE_ATTRS: Mapping[str, tuple[VcsType, Dimension]] = {
    "Critical": (_BOOL, _S),
    "Enabled": (_BOOL, _S),
    "ComputeStats": (_BOOL, _S),
    "ResourceOwner": (_STR, _S),
    "ResourceRecipients": (_STR, _A),
    "ResourceInfo": (_STR, _A),
    "TriggerPath": (_STR, _S),
    "TriggersEnabled": (_STR, _V),
    "TriggerResFault": (_BOOL, _S),
    "TriggerResRestart": (_BOOL, _S),
    "TriggerResStateChange": (_BOOL, _S),
    "LogDbg": (_STR, _V),
    "MonitorStatsParam": (_INT, _A),
    "IMF": (_INT, _A),
    **{
        name: (_INT, _S)
        for name in (
            "ActionTimeout", "AEPTimeout", "AgentPriority", "AgentReplyTimeout",
            "AgentStartTimeout", "AlertOnMonitorTimeouts", "AttrChangedTimeout",
            "CleanRetryLimit", "CleanTimeout", "CloseTimeout", "ConfInterval", "EPPriority",
            "FaultOnMonitorTimeouts", "InfoInterval", "InfoTimeout", "LevelTwoMonitorFreq",
            "LogFileSize", "MonitorInterval", "MonitorTimeout", "NumThreads",
            "OfflineMonitorInterval", "OfflineTimeout", "OfflineWaitLimit", "OnlinePriority",
            "OnlineRetryLimit", "OnlineTimeout", "OnlineWaitLimit", "OpenTimeout",
            "RestartLimit", "ToleranceLimit",
        )
    },
}  # fmt: skip

# Names an ArgList may carry besides the type's own attributes.
_ARGLIST_ENGINE = frozenset({"State", "IState", "Name", "Type", "Group"})

# How the renderer writes the group, cluster and system attributes it knows; the reader
# keeps all of them raw and unchecked.
_KNOWN_SHAPES: Mapping[str, Dimension] = {
    "SystemList": _A,
    "AutoStartList": _V,
    "SystemZones": _A,
    "ContainerInfo": _A,
    "UserNames": _A,
    "Administrators": _V,
    "Operators": _V,
    "TriggersEnabled": _V,
}


# ---------------------------------------------------------------------------------------
# Tokens


class _Tok(enum.Enum):
    WORD = "word"
    STRING = "string"
    LPAREN = "("
    RPAREN = ")"
    LBRACE = "{"
    RBRACE = "}"
    EQ = "="
    COMMA = ","
    END = "end"


_PUNCT = {
    "(": _Tok.LPAREN,
    ")": _Tok.RPAREN,
    "{": _Tok.LBRACE,
    "}": _Tok.RBRACE,
    "=": _Tok.EQ,
    ",": _Tok.COMMA,
}
_WORD_STOP = frozenset('(){}=,"')
_VALUE_TOKENS = (_Tok.WORD, _Tok.STRING)


@record
class _Token:
    kind: _Tok
    text: str
    line: int


def _describe(tok: _Token) -> str:
    if tok.kind is _Tok.WORD:
        return f'"{_cut(tok.text)}"'
    if tok.kind is _Tok.STRING:
        return f'the string "{_cut(tok.text)}"'
    if tok.kind is _Tok.END:
        return "the end of the text"
    return f"'{tok.text}'"


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _is_control(ch: str) -> bool:
    return (ord(ch) < 32 or ord(ch) == 127) and not ch.isspace()


def _tokenize(text: str) -> list[_Token] | ConfError:
    tokens: list[_Token] = []
    size, index, line = len(text), 0, 1
    while index < size:
        ch = text[index]
        if ch == "\n":
            line += 1
            index += 1
        elif ch.isspace():
            index += 1
        elif text.startswith("//", index):
            end = text.find("\n", index)
            index = size if end < 0 else end
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end < 0:
                return ConfError(line, "comment opened with /* is never closed with */")
            line += text.count("\n", index, end)
            index = end + 2
        elif ch in _PUNCT:
            tokens.append(_Token(_PUNCT[ch], ch, line))
            index += 1
        elif ch == '"':
            read = _string(text, index + 1, line)
            if isinstance(read, ConfError):
                return read
            value, index = read
            tokens.append(_Token(_Tok.STRING, value, line))
        elif _is_control(ch):
            return ConfError(line, f"unexpected control character U+{ord(ch):04X}")
        else:
            start = index
            while index < size and _word_char(text, index):
                index += 1
            tokens.append(_Token(_Tok.WORD, text[start:index], line))
    # The end reports the last line with something on it: that is where a reader looks.
    tokens.append(_Token(_Tok.END, "", tokens[-1].line if tokens else 1))
    return tokens


def _word_char(text: str, index: int) -> bool:
    ch = text[index]
    if ch.isspace() or ch in _WORD_STOP or _is_control(ch):
        return False
    return not text.startswith(("//", "/*"), index)


def _string(text: str, index: int, line: int) -> tuple[str, int] | ConfError:
    """The string starting after its opening quote, and the index after its closing quote.

    \\" and \\\\ are the escapes; any other backslash stays as written. A string ends on
    its own line: a line break before the closing quote means it was never closed.
    """
    out: list[str] = []
    size = len(text)
    while index < size:
        ch = text[index]
        if ch == "\n":
            break
        if ch == "\\" and index + 1 < size and text[index + 1] in '"\\':
            out.append(text[index + 1])
            index += 2
        elif ch == '"':
            return "".join(out), index + 1
        else:
            out.append(ch)
            index += 1
    return ConfError(line, 'string is not closed: the closing " is missing on this line')


# ---------------------------------------------------------------------------------------
# What one text says, before the texts are put together and checked


class _Shape(enum.Enum):
    SCALAR = "a single value"
    LIST = "a list of values"
    PAIRS = "key = value pairs"
    EMPTY = "an empty { }"


@record
class _Value:
    raw: Raw
    shape: _Shape
    line: int


@mutable_record
class _ResourceDraft:
    type_name: str
    name: str
    values: dict[str, _Value]
    line: int


@mutable_record
class _GroupDraft:
    name: str
    values: dict[str, _Value]
    line: int
    resources: list[_ResourceDraft] = field(default_factory=list)
    links: list[ResourceLink] = field(default_factory=list)
    dependencies: list[GroupDependency] = field(default_factory=list)


@mutable_record
class _Draft:
    includes: list[str] = field(default_factory=list)
    types: list[TypeDef] = field(default_factory=list)
    groups: list[_GroupDraft] = field(default_factory=list)
    extra: dict[str, _Value] = field(default_factory=dict)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.draft = _Draft()
        self.group: _GroupDraft | None = None

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        if tok.kind is not _Tok.END:
            self.pos += 1
        return tok

    def run(self) -> _Draft | ConfError:
        while self.peek().kind is not _Tok.END:
            problem = self.statement()
            if problem is not None:
                return problem
        return self.draft

    def starts_statement(self) -> bool:
        first, second = self.peek(), self.peek(1)
        if first.kind is not _Tok.WORD:
            return False
        if first.text in KEYWORDS:
            return True
        return second.kind is _Tok.WORD and (
            second.text == "requires" or self.peek(2).kind is _Tok.LPAREN
        )

    def statement(self) -> ConfError | None:
        tok = self.peek()
        if tok.kind is not _Tok.WORD:
            return ConfError(
                tok.line,
                f"unexpected {_describe(tok)}: a statement starts with include, cluster, "
                "system, type, group, requires, a resource or a link",
            )
        if tok.text == "include":
            return self.include()
        if tok.text in {"cluster", "system"}:
            return self.cluster_or_system()
        if tok.text == "type":
            return self.type_def()
        if tok.text == "group":
            return self.group_def()
        if tok.text == "requires":
            return self.group_dependency()
        second = self.peek(1)
        if second.kind is _Tok.WORD and second.text == "requires":
            return self.link()
        if second.kind is _Tok.WORD and self.peek(2).kind is _Tok.LPAREN:
            return self.resource()
        if second.kind is _Tok.WORD:
            return ConfError(
                second.line,
                f"expected '(' after resource {_cut(second.text)} of type {_cut(tok.text)}, "
                f"found {_describe(self.peek(2))}",
            )
        return ConfError(
            tok.line,
            f'unknown keyword "{_cut(tok.text)}": expected include, cluster, system, type, '
            "group, requires, a resource or a link",
        )

    # -- names ------------------------------------------------------------------------

    def name(self, what: str, pattern: re.Pattern[str] = _OBJECT_NAME) -> _Token | ConfError:
        tok = self.take()
        if tok.kind is not _Tok.WORD:
            return ConfError(tok.line, f"expected the name of {what}, found {_describe(tok)}")
        if tok.text in KEYWORDS:
            return ConfError(tok.line, f'"{tok.text}" is a keyword and cannot name {what}')
        if not pattern.fullmatch(tok.text):
            return ConfError(tok.line, f'"{_cut(tok.text)}" is not a valid name for {what}')
        return tok

    def expect_open(self, what: str) -> _Token | ConfError:
        tok = self.take()
        if tok.kind is not _Tok.LPAREN:
            return ConfError(tok.line, f"expected '(' after {what}, found {_describe(tok)}")
        return tok

    # -- statements -------------------------------------------------------------------

    def include(self) -> ConfError | None:
        self.take()
        target = self.take()
        if (
            target.kind not in _VALUE_TOKENS
            or not target.text
            or (target.kind is _Tok.WORD and target.text in KEYWORDS)
        ):
            return ConfError(
                target.line, f"include needs a file name in quotes, found {_describe(target)}"
            )
        self.draft.includes.append(target.text)
        self.group = None
        return None

    def cluster_or_system(self) -> ConfError | None:
        kind = self.take().text
        name = self.name(f"a {kind}")
        if isinstance(name, ConfError):
            return name
        self.group = None
        if self.peek().kind is not _Tok.LPAREN:
            return None
        opened = self.take()
        values = self.attributes(f"{kind} {name.text}", opened)
        if isinstance(values, ConfError):
            return values
        for attr, value in values.items():
            key = f"{kind}.{name.text}.{attr}"
            if key in self.draft.extra:
                first = self.draft.extra[key].line
                return ConfError(
                    value.line, f"{attr} of {kind} {name.text} is set twice (first on line {first})"
                )
            self.draft.extra[key] = value
        return None

    def group_def(self) -> ConfError | None:
        self.take()
        name = self.name("a group")
        if isinstance(name, ConfError):
            return name
        opened = self.expect_open(f"group {name.text}")
        if isinstance(opened, ConfError):
            return opened
        values = self.attributes(f"group {name.text}", opened)
        if isinstance(values, ConfError):
            return values
        self.group = _GroupDraft(name.text, values, name.line)
        self.draft.groups.append(self.group)
        return None

    def resource(self) -> ConfError | None:
        type_tok = self.name("a resource type", _IDENT)
        if isinstance(type_tok, ConfError):
            return type_tok
        name = self.name("a resource")
        if isinstance(name, ConfError):
            return name
        opened = self.take()
        owner = f"resource {name.text}"
        if self.group is None:
            return ConfError(
                type_tok.line,
                f"{owner} ({type_tok.text}) comes before any group: a resource belongs to "
                "the group statement above it",
            )
        values = self.attributes(owner, opened)
        if isinstance(values, ConfError):
            return values
        self.group.resources.append(_ResourceDraft(type_tok.text, name.text, values, name.line))
        return None

    def link(self) -> ConfError | None:
        parent = self.name("a resource")
        if isinstance(parent, ConfError):
            return parent
        self.take()  # requires
        child = self.name("the resource required")
        if isinstance(child, ConfError):
            return child
        if self.group is None:
            return ConfError(
                parent.line,
                f"link {parent.text} requires {child.text} comes before any group",
            )
        self.group.links.append(ResourceLink(parent.text, child.text, parent.line))
        return None

    def group_dependency(self) -> ConfError | None:
        first = self.take()
        word = self.take()
        if word.kind is not _Tok.WORD or word.text != "group":
            return ConfError(
                word.line,
                "a statement cannot start with requires: write "
                "`requires group <child> <online|offline> <local|global|remote> "
                f"<soft|firm|hard>` or `<parent> requires <child>`, found {_describe(word)}",
            )
        child = self.name("the group required")
        if isinstance(child, ConfError):
            return child
        if self.group is None:
            return ConfError(first.line, f"requires group {child.text} comes before any group")
        words: list[str] = []
        for choices in (("online", "offline"), ("local", "global", "remote")):
            tok = self.take()
            if tok.kind is not _Tok.WORD or tok.text not in choices:
                return ConfError(
                    tok.line,
                    f"requires group {child.text}: expected {' or '.join(choices)}, "
                    f"found {_describe(tok)}",
                )
            words.append(tok.text)
        rigidity = self.take()
        if rigidity.kind is not _Tok.WORD or rigidity.text not in {"soft", "firm", "hard"}:
            return ConfError(
                rigidity.line,
                f"requires group {child.text}: expected soft, firm or hard, "
                f"found {_describe(rigidity)}",
            )
        category, location = words
        if category == "offline" and location != "local":
            return ConfError(
                first.line, f"requires group {child.text}: an offline dependency is always local"
            )
        if rigidity.text == "hard" and (category, location) != ("online", "local"):
            return ConfError(
                first.line,
                f"requires group {child.text}: a hard dependency is always online local",
            )
        self.group.dependencies.append(
            GroupDependency(child.text, category, location, rigidity.text, first.line)
        )
        return None

    def type_def(self) -> ConfError | None:
        self.take()
        self.group = None
        name = self.name("a type", _IDENT)
        if isinstance(name, ConfError):
            return name
        opened = self.expect_open(f"type {name.text}")
        if isinstance(opened, ConfError):
            return opened
        attrs: list[TypeAttr] = []
        lines: dict[str, int] = {}
        while self.peek().kind is not _Tok.RPAREN:
            found = self.type_attr(name.text, opened)
            if isinstance(found, ConfError):
                return found
            attr, line = found
            if attr.name in lines:
                return ConfError(
                    line,
                    f"attribute {attr.name} is declared twice in type {name.text} "
                    f"(first on line {lines[attr.name]})",
                )
            lines[attr.name] = line
            attrs.append(attr)
        self.take()
        typedef = TypeDef(name.text, tuple(attrs), name.line)
        declared = {a.name for a in attrs} | _ARGLIST_ENGINE
        for entry in typedef.arglist:
            if ":" not in entry and entry not in declared:
                return ConfError(
                    lines["ArgList"],
                    f"the ArgList of type {name.text} names {_cut(entry)}, which the type "
                    "does not declare",
                )
        self.draft.types.append(typedef)
        return None

    def type_attr(self, type_name: str, opened: _Token) -> tuple[TypeAttr, int] | ConfError:
        owner = f"type {type_name}"
        static = False
        while self.peek().kind is _Tok.WORD and self.peek().text in {"static", "temp"}:
            modifier = self.take().text
            static = static or modifier == "static"
        kind = self.peek()
        if kind.kind is _Tok.END:
            return ConfError(opened.line, f"'(' of {owner} is never closed")
        if kind.kind is not _Tok.WORD or kind.text not in ATTRIBUTE_TYPES:
            if self.starts_statement():
                return ConfError(
                    opened.line,
                    f"'(' of {owner} is not closed before line {kind.line}, "
                    "where a new statement begins",
                )
            return ConfError(
                kind.line,
                f"unknown attribute type {_describe(kind)} in {owner}: expected str, int, "
                "boolean or keylist (optionally after static)",
            )
        self.take()
        vcs_type, fixed = ATTRIBUTE_TYPES[kind.text]
        name_tok = self.take()
        if name_tok.kind is not _Tok.WORD:
            return ConfError(
                name_tok.line, f"expected an attribute name in {owner}, found {_describe(name_tok)}"
            )
        attr_name, dimension = name_tok.text, Dimension.SCALAR
        if attr_name.endswith("[]"):
            attr_name, dimension = attr_name[:-2], Dimension.VECTOR
        elif self.peek().kind is _Tok.LBRACE:
            self.take()
            if self.peek().kind is not _Tok.RBRACE:
                return ConfError(
                    name_tok.line,
                    f"{attr_name}{{ in {owner} needs its '}}' right after the '{{' "
                    "({} marks an association)",
                )
            self.take()
            dimension = Dimension.ASSOCIATION
        if not _IDENT.fullmatch(attr_name):
            return ConfError(
                name_tok.line, f'"{_cut(name_tok.text)}" is not a valid attribute name in {owner}'
            )
        if fixed is not None:
            if dimension is not Dimension.SCALAR:
                return ConfError(
                    name_tok.line,
                    f"keylist {attr_name} in {owner} is a list: it takes no [] or {{}}",
                )
            dimension = fixed
        default: Raw = ()
        if self.peek().kind is _Tok.EQ:
            self.take()
            what = f"the default of {attr_name} in {owner}"
            value = self.value(what, name_tok.line)
            if isinstance(value, ConfError):
                return value
            fitted = _fit(value, dimension, vcs_type, what)
            if isinstance(fitted, ConfError):
                return fitted
            default = fitted
        return TypeAttr(attr_name, vcs_type, dimension, default, static), name_tok.line

    # -- attribute lists and values ---------------------------------------------------

    def attributes(self, owner: str, opened: _Token) -> dict[str, _Value] | ConfError:
        values: dict[str, _Value] = {}
        while True:
            tok = self.peek()
            if tok.kind is _Tok.RPAREN:
                self.take()
                return values
            if tok.kind is _Tok.END:
                return ConfError(opened.line, f"'(' of {owner} is never closed")
            if tok.kind is not _Tok.WORD:
                return ConfError(
                    tok.line, f"expected an attribute name in {owner}, found {_describe(tok)}"
                )
            if self.peek(1).kind is not _Tok.EQ:
                if self.starts_statement():
                    return ConfError(
                        opened.line,
                        f"'(' of {owner} is not closed before line {tok.line}, "
                        "where a new statement begins",
                    )
                return ConfError(
                    tok.line,
                    f"expected '=' after {_cut(tok.text)} in {owner}, "
                    f"found {_describe(self.peek(1))}",
                )
            if not _ATTR_NAME.fullmatch(tok.text):
                return ConfError(
                    tok.line, f'"{_cut(tok.text)}" is not a valid attribute name in {owner}'
                )
            self.take()
            self.take()
            value = self.value(f"{tok.text} of {owner}", tok.line)
            if isinstance(value, ConfError):
                return value
            if tok.text in values:
                return ConfError(
                    tok.line,
                    f"{tok.text} of {owner} is set twice (first on line {values[tok.text].line})",
                )
            values[tok.text] = value

    def value(self, what: str, line: int) -> _Value | ConfError:
        tok = self.take()
        if tok.kind in _VALUE_TOKENS:
            return _Value((tok.text,), _Shape.SCALAR, line)
        if tok.kind is not _Tok.LBRACE:
            return ConfError(tok.line, f"{what} has no value: found {_describe(tok)} after '='")
        plain: list[str] = []
        pairs: list[str] = []
        while True:
            item = self.take()
            if item.kind is _Tok.RBRACE:
                break
            if item.kind is _Tok.COMMA:
                continue
            if item.kind is _Tok.END:
                return ConfError(tok.line, f"'{{' of {what} is never closed")
            if item.kind is _Tok.EQ:
                return ConfError(item.line, f"'=' without a key in {what}")
            if item.kind not in _VALUE_TOKENS:
                return ConfError(
                    tok.line,
                    f"'{{' of {what} is not closed before {_describe(item)} on line {item.line}",
                )
            if self.peek().kind is not _Tok.EQ:
                plain.append(item.text)
                continue
            self.take()
            paired = self.take()
            if paired.kind not in _VALUE_TOKENS:
                return ConfError(
                    paired.line, f"key {_cut(item.text)} in {what} has no value after '='"
                )
            if item.text in pairs[0::2]:
                return ConfError(item.line, f"{what} lists the key {_cut(item.text)} twice")
            pairs += [item.text, paired.text]
        if plain and pairs:
            return ConfError(tok.line, f"{what} mixes key = value pairs with plain values")
        if pairs:
            return _Value(tuple(pairs), _Shape.PAIRS, line)
        return _Value(tuple(plain), _Shape.LIST if plain else _Shape.EMPTY, line)


def _fit(value: _Value, dimension: Dimension, vcs_type: VcsType, what: str) -> Raw | ConfError:
    """The raw values, once the value's spelling agrees with the declared dimension and type."""
    shape, raw, line = value.shape, value.raw, value.line
    if dimension is Dimension.SCALAR and shape is not _Shape.SCALAR:
        return ConfError(line, f"{what} is a scalar, but is given {shape.value}")
    if dimension is Dimension.VECTOR and shape in {_Shape.SCALAR, _Shape.PAIRS}:
        return ConfError(line, f"{what} is a vector {{ a, b }}, but is given {shape.value}")
    if dimension is Dimension.ASSOCIATION:
        if shape is _Shape.SCALAR:
            return ConfError(
                line, f"{what} is an association {{ key = value }}, but is given a single value"
            )
        if len(raw) % 2:
            return ConfError(
                line,
                f"{what} is an association, but its {len(raw)} values do not pair up as "
                "keys and values",
            )
        keys = raw[0::2]
        twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
        if twice is not None:
            return ConfError(line, f"{what} lists the key {_cut(twice)} twice")
    typed = raw[1::2] if dimension is Dimension.ASSOCIATION else raw
    for item in typed:
        if vcs_type is VcsType.INT and not _INTEGER.fullmatch(item):
            return ConfError(line, f'{what} is an int, but "{_cut(item)}" is not a whole number')
        if vcs_type is VcsType.BOOLEAN and item not in {"0", "1"}:
            return ConfError(line, f'{what} is a boolean (0 or 1), but is given "{_cut(item)}"')
    return raw


# ---------------------------------------------------------------------------------------
# Putting the texts together and checking what spans statements


@record
class FileError:
    """A ConfError in one of several texts read together."""

    name: str
    error: ConfError

    def __str__(self) -> str:
        return f"{self.name}: {self.error}"


_Located = tuple[str, ConfError]


def _where(name: str, line: int, here: str) -> str:
    return f"line {line}" if name == here else f"{name} line {line}"


def _assemble(drafts: Sequence[tuple[str, _Draft]]) -> Configuration | _Located:
    types: dict[str, tuple[str, TypeDef]] = {}
    groups: dict[str, tuple[str, _GroupDraft]] = {}
    owners: dict[str, tuple[str, str, int]] = {}  # resource -> file, group, line
    extra: dict[str, tuple[str, _Value]] = {}
    includes: dict[str, None] = {}
    for fname, draft in drafts:
        includes.update(dict.fromkeys(draft.includes))
        for typedef in draft.types:
            if typedef.name in types:
                first, seen = types[typedef.name]
                return fname, ConfError(
                    typedef.line,
                    f"type {typedef.name} is defined twice "
                    f"(first at {_where(first, seen.line, fname)})",
                )
            types[typedef.name] = (fname, typedef)
        for key, value in draft.extra.items():
            if key in extra:
                first, seen_value = extra[key]
                return fname, ConfError(
                    value.line,
                    f"{key} is set twice (first at {_where(first, seen_value.line, fname)})",
                )
            extra[key] = (fname, value)
        for group in draft.groups:
            if group.name in groups:
                first, seen_group = groups[group.name]
                return fname, ConfError(
                    group.line,
                    f"group {group.name} is defined twice "
                    f"(first at {_where(first, seen_group.line, fname)})",
                )
            groups[group.name] = (fname, group)
            for res in group.resources:
                if res.name in owners:
                    first, other, seen_line = owners[res.name]
                    return fname, ConfError(
                        res.line,
                        f"resource {res.name} is defined twice (first in group {other} at "
                        f"{_where(first, seen_line, fname)}); resource names are unique in "
                        "a cluster",
                    )
                owners[res.name] = (fname, group.name, res.line)
    built: list[Group] = []
    for fname, group in groups.values():
        made = _build_group(group, {k: v for k, (_, v) in types.items()}, owners, groups)
        if isinstance(made, ConfError):
            return fname, made
        built.append(made)
    cycle = _group_cycle(groups)
    if cycle is not None:
        return cycle
    return Configuration(
        includes=tuple(includes),
        types=tuple(t for _, t in types.values()),
        groups=tuple(built),
        extra={key: value.raw for key, (_, value) in extra.items()},
    )


def _build_group(
    group: _GroupDraft,
    types: Mapping[str, TypeDef],
    owners: Mapping[str, tuple[str, str, int]],
    groups: Mapping[str, tuple[str, _GroupDraft]],
) -> Group | ConfError:
    resources: list[Resource] = []
    for res in group.resources:
        values: dict[str, Raw] = {}
        for attr, value in res.values.items():
            fitted = _resource_value(attr, value, types.get(res.type_name), res)
            if isinstance(fitted, ConfError):
                return fitted
            values[attr] = fitted
        resources.append(Resource(res.type_name, res.name, values, res.line))
    mine = {r.name for r in group.resources}
    seen: set[tuple[str, str]] = set()
    for link in group.links:
        text = f"link {link.parent} requires {link.child}"
        for end in (link.parent, link.child):
            if end in mine:
                continue
            if end in owners:
                return ConfError(
                    link.line,
                    f"{text}: {end} belongs to group {owners[end][1]}; a resource can only "
                    f"require resources of its own group ({group.name})",
                )
            return ConfError(link.line, f"{text}: group {group.name} has no resource {end}")
        if link.parent == link.child:
            return ConfError(link.line, f"{text}: a resource cannot require itself")
        if (link.parent, link.child) in seen:
            return ConfError(link.line, f"{text} is written twice")
        seen.add((link.parent, link.child))
    cycle = _cycle([(lk.parent, lk.child) for lk in group.links])
    if cycle is not None:
        steps = set(_steps(cycle))
        line = max(lk.line for lk in group.links if (lk.parent, lk.child) in steps)
        return ConfError(line, f"resource links form a cycle: {' requires '.join(cycle)}")
    children: set[str] = set()
    for dep in group.dependencies:
        text = f"group {group.name} requires group {dep.child}"
        if dep.child == group.name:
            return ConfError(dep.line, f"{text}: a group cannot require itself")
        if dep.child not in groups:
            return ConfError(dep.line, f"{text}, which is not defined")
        if dep.child in children:
            return ConfError(dep.line, f"{text} is written twice")
        children.add(dep.child)
    return Group(
        name=group.name,
        values={k: v.raw for k, v in group.values.items()},
        resources=tuple(resources),
        links=tuple(group.links),
        dependencies=tuple(group.dependencies),
        line=group.line,
    )


def _resource_value(
    attr: str, value: _Value, typedef: TypeDef | None, res: _ResourceDraft
) -> Raw | ConfError:
    base = attr.split("@", 1)[0]
    declared = typedef.attr(base) if typedef is not None else None
    what = f"{attr} of resource {res.name}"
    if declared is not None:
        return _fit(value, declared.dimension, declared.vcs_type, what)
    if base in ENGINE_RESOURCE_ATTRS:
        vcs_type, dimension = ENGINE_RESOURCE_ATTRS[base]
        return _fit(value, dimension, vcs_type, what)
    if typedef is not None:
        return ConfError(
            value.line, f"{base} is not an attribute of type {typedef.name} (resource {res.name})"
        )
    return value.raw  # a type defined in no text read: nothing to check against


def _cycle(edges: Sequence[tuple[str, str]]) -> list[str] | None:
    """A cycle among the edges as its path (first node repeated at the end), or None."""
    nodes = sorted({n for edge in edges for n in edge})
    incoming = dict.fromkeys(nodes, 0)
    for _, child in edges:
        incoming[child] += 1
    ready = [n for n in nodes if incoming[n] == 0]
    while ready:
        node = ready.pop()
        for parent, child in edges:
            if parent == node:
                incoming[child] -= 1
                if incoming[child] == 0:
                    ready.append(child)
    left = {n for n in nodes if incoming[n] > 0}
    if not left:
        return None
    # Every node left has a predecessor that is left too: walk backwards until a repeat.
    before = {child: parent for parent, child in edges if parent in left and child in left}
    walk = [min(left)]
    while walk[-1] not in walk[:-1]:
        walk.append(before[walk[-1]])
    return list(reversed(walk[walk.index(walk[-1]) :]))


def _steps(path: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(path))


def _group_cycle(groups: Mapping[str, tuple[str, _GroupDraft]]) -> _Located | None:
    found = _cycle([(name, d.child) for name, (_, g) in groups.items() for d in g.dependencies])
    if found is None:
        return None
    order = {name: index for index, name in enumerate(groups)}
    # Report the cycle at its last written dependency, in that dependency's own file.
    last = max(
        ((order[a], d.line, a, d) for a, b in _steps(found) for d in groups[a][1].dependencies
         if d.child == b),
        key=lambda item: (item[0], item[1]),
    )  # fmt: skip
    parent, dep = last[2], last[3]
    return groups[parent][0], ConfError(
        dep.line, f"group dependencies form a cycle: {' requires '.join(found)}"
    )


# ---------------------------------------------------------------------------------------
# The public readers


def _read(name: str, text: str) -> _Draft | _Located:
    tokens = _tokenize(text)
    if isinstance(tokens, ConfError):
        return name, tokens
    draft = _Parser(tokens).run()
    if isinstance(draft, ConfError):
        return name, draft
    return draft


def parse(text: str) -> Result[Configuration, ConfError]:
    """Read one text; resources are checked against the types defined in it."""
    read = _read("", text)
    if isinstance(read, tuple):
        return Failure(read[1])
    made = _assemble([("", read)])
    if isinstance(made, tuple):
        return Failure(made[1])
    return Success(made)


def parse_many(texts: Sequence[tuple[str, str]]) -> Result[Configuration, FileError]:
    """Read several texts as one configuration: (name, text) pairs, usually main.cf first
    and then the files it includes. Types from any text check resources in every text.

    An include whose file is not among the texts is only recorded in
    Configuration.includes (the bundled types.cf, say): resources of types no text defines
    are read unchecked.
    """
    drafts: list[tuple[str, _Draft]] = []
    for name, text in texts:
        read = _read(name, text)
        if isinstance(read, tuple):
            return Failure(FileError(*read))
        drafts.append((name, read))
    made = _assemble(drafts)
    if isinstance(made, tuple):
        return Failure(FileError(*made))
    return Success(made)


def values_for(decl: Declaration, resource: Resource, system: str | None = None) -> dict[str, Raw]:
    """The values of a resource that `declaration.validate` takes: only the attributes
    the type declares (engine attributes such as Critical dropped). With a system, a
    localised value `Attr@system` wins over the plain one; other systems' values are
    never used."""
    out: dict[str, Raw] = {}
    for attr in decl.attrs:
        local = f"{attr.name}@{system}" if system is not None else None
        if local is not None and local in resource.values:
            out[attr.name] = resource.values[local]
        elif attr.name in resource.values:
            out[attr.name] = resource.values[attr.name]
    return out


# ---------------------------------------------------------------------------------------
# Writing a Configuration back as text


def quote(value: str) -> str:
    """A value as the language writes it: bare when it is a plain word, else in quotes."""
    if _BARE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_value(raw: Raw, dimension: Dimension) -> str:
    """One attribute value. A value cannot hold a line break: the language has no escape
    for one."""
    if dimension is Dimension.SCALAR and len(raw) == 1:
        return quote(raw[0])
    keys = raw[0::2]
    if dimension is Dimension.ASSOCIATION and raw and len(raw) % 2 == 0 and _unique(keys):
        pairs = (f"{quote(k)} = {quote(v)}" for k, v in zip(raw[0::2], raw[1::2], strict=True))
        return "{ " + ", ".join(pairs) + " }"
    if not raw:
        return "{ }"
    return "{ " + ", ".join(quote(v) for v in raw) + " }"


DIMENSION_SUFFIX = {Dimension.SCALAR: "", Dimension.VECTOR: "[]", Dimension.ASSOCIATION: "{}"}


def _unique(items: Sequence[str]) -> bool:
    return len(set(items)) == len(items)


def _guess(name: str, raw: Raw) -> Dimension:
    known = _KNOWN_SHAPES.get(name.split("@", 1)[0])
    if known is not None:
        return known
    return Dimension.SCALAR if len(raw) == 1 else Dimension.VECTOR


def _render_type(typedef: TypeDef) -> list[str]:
    lines = [f"type {typedef.name} ("]
    for attr in typedef.attrs:
        text = f"\t{'static ' if attr.static else ''}{attr.vcs_type.value} {attr.name}"
        text += DIMENSION_SUFFIX[attr.dimension]
        if attr.default:
            text += f" = {render_value(attr.default, attr.dimension)}"
        lines.append(text)
    return [*lines, ")", ""]


def _dimension_in(conf: Configuration, res: Resource, attr: str) -> Dimension:
    base = attr.split("@", 1)[0]
    typedef = conf.type_def(res.type_name)
    declared = typedef.attr(base) if typedef is not None else None
    if declared is not None:
        return declared.dimension
    if base in ENGINE_RESOURCE_ATTRS:
        return ENGINE_RESOURCE_ATTRS[base][1]
    return _guess(base, res.values[attr])


def _split_extra(key: str) -> tuple[str, str, str]:
    # "system.node1.example.com.Attr@node1": the attribute is the last dotted part before
    # any '@' (object names carry no '@', attribute names no '.').
    head, at, system = key.partition("@")
    kind_and_name, _, attr = head.rpartition(".")
    kind, _, name = kind_and_name.partition(".")
    return kind, name, attr + at + system


def render(conf: Configuration) -> str:
    """The configuration as text that `parse` reads back to an equal configuration
    (line numbers aside), given values without line breaks."""
    out: list[str] = [f'include "{_escape(name)}"' for name in conf.includes]
    if out:
        out.append("")
    objects: dict[tuple[str, str], list[tuple[str, Raw]]] = {}
    for key, raw in conf.extra.items():
        kind, name, attr = _split_extra(key)
        objects.setdefault((kind, name), []).append((attr, raw))
    for (kind, name), attrs in objects.items():
        out.append(f"{kind} {name} (")
        out += [f"\t{attr} = {render_value(raw, _guess(attr, raw))}" for attr, raw in attrs]
        out += ["\t)", ""]
    for typedef in conf.types:
        out += _render_type(typedef)
    for group in conf.groups:
        out.append(f"group {group.name} (")
        out += [f"\t{k} = {render_value(v, _guess(k, v))}" for k, v in group.values.items()]
        out += ["\t)", ""]
        for res in group.resources:
            out.append(f"\t{res.type_name} {res.name} (")
            for attr, raw in res.values.items():
                out.append(f"\t\t{attr} = {render_value(raw, _dimension_in(conf, res, attr))}")
            out += ["\t\t)", ""]
        out += [f"\t{link.parent} requires {link.child}" for link in group.links]
        out += [
            f"\trequires group {d.child} {d.category} {d.location} {d.rigidity}"
            for d in group.dependencies
        ]
        if group.links or group.dependencies:
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
