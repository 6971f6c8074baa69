"""OCF meta-data (ra-api-1.dtd) for each resource type, generated from the same
declarations as the VCS types files: one description of every parameter serves both."""

from __future__ import annotations

from jescore.policy.declaration import Attr, Declaration, Dimension, VcsType
from jescore.policy.ocf import (
    DEFAULT_TIMEOUTS,
    MONITOR_OPERATIONS,
    SECOND_LEVEL_DEPTH,
    OcfAction,
    ocf_default,
    parameter_names,
)
from jescore.typenames import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

VERSION = "1.0"

# What each agent manages, for meta-data's descriptions: (short, long).
AGENT_TEXT: dict[str, tuple[str, str]] = {
    "SunJESMsg": (
        "Sun JES / Oracle Communications Messaging Server or Multiplexor",
        "Starts, stops and monitors one Messaging Server (ServerType MSG: the core "
        "processes, or services such as imap, pop, http, smtp) or Messaging Multiplexor "
        "(MMP) of an installation, with the msstart command. The first level looks for "
        f"the processes; at OCF_CHECK_LEVEL {SECOND_LEVEL_DEPTH} the second level runs the "
        "synthetic transactions (immonitor-access, stored -t, connections) on every call.",
    ),
    "SunJESAdm": (
        "Sun JES Administration Server",
        "Starts, stops and monitors the Administration Server of a ServerRoot. At "
        f"OCF_CHECK_LEVEL {SECOND_LEVEL_DEPTH} it also asks the server for its "
        "configuration (admconfig).",
    ),
    "SunJESLDAP": (
        "Sun JES / 389 Directory Server instance",
        "Starts, stops and monitors one Directory Server instance (ns-slapd) with its "
        "start-slapd and stop-slapd scripts. At OCF_CHECK_LEVEL "
        f"{SECOND_LEVEL_DEPTH} it also searches the server's cn=monitor entry.",
    ),
}

_CONTENT_TYPE = {VcsType.STR: "string", VcsType.INT: "integer", VcsType.BOOLEAN: "boolean"}
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unique_parameters(decl: Declaration) -> frozenset[str]:
    """Parameters no two resources may share: the identity, when one attribute is the
    whole identity. (ra-api-1 has no way to say 'unique together'; a SunJESMsg resource is
    ServerRoot, ServerType and services together, which its ServerRoot text says.)"""
    return frozenset(decl.identity) if len(decl.identity) == 1 else frozenset()


def must_be_given(attr: Attr[Any]) -> bool:
    """Required in meta-data: a value the administrator must give. A required attribute with
    a default (ServerType MSG, SSLEnabled 0) has one already, as under VCS."""
    return attr.required and attr.types_cf_default() is None


def _longdesc(decl: Declaration, attr: Attr[Any]) -> str:
    text = attr.description
    if attr.dimension is Dimension.VECTOR:
        text += " Several values are written as words separated by spaces."
    if attr.dimension is Dimension.ASSOCIATION:
        text += " Keys and values are written as words separated by spaces, e.g. 'imap 143'."
    if attr.secret:
        text += (
            " Given in plain text here (there is no vcsencrypt under Pacemaker): keep it "
            "out of the CIB with cibsecret; the agent never logs it or passes it in an "
            "argument."
        )
    if attr.name in decl.identity and len(decl.identity) > 1:
        others = ", ".join(n for n in decl.identity if n != attr.name)
        text += f" Two resources may share it only with a different {others}."
    return text


def _shortdesc(attr: Attr[Any]) -> str:
    first = attr.description.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= 80 else first[:77] + "..."


def metadata(decl: Declaration) -> str:
    """The meta-data document of the type's OCF agent."""
    short, long = AGENT_TEXT[decl.type_name]
    unique = unique_parameters(decl)
    out = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">',
        f'<resource-agent name="{escape(decl.type_name)}" version="{VERSION}">',
        "<version>1.0</version>",
        f'<longdesc lang="en">{escape(long)}</longdesc>',
        f'<shortdesc lang="en">{escape(short)}</shortdesc>',
        "<parameters>",
    ]
    for name in parameter_names(decl):
        attr = decl.attr(name)
        assert attr is not None  # parameter_names lists declared attributes
        default = ocf_default(attr)
        shown = "" if default is None else f' default="{escape(default)}"'
        out += [
            f'<parameter name="{escape(name)}" required="{int(must_be_given(attr))}" '
            f'unique="{int(name in unique)}">',
            f'<longdesc lang="en">{escape(_longdesc(decl, attr))}</longdesc>',
            f'<shortdesc lang="en">{escape(_shortdesc(attr))}</shortdesc>',
            f'<content type="{_CONTENT_TYPE[attr.vcs_type]}"{shown}/>',
            "</parameter>",
        ]
    out += ["</parameters>", "<actions>"]
    for action in (OcfAction.START, OcfAction.STOP):
        out.append(f'<action name="{action.value}" timeout="{DEFAULT_TIMEOUTS[action]}s"/>')
    for depth, interval in MONITOR_OPERATIONS:
        out.append(
            f'<action name="monitor" timeout="{DEFAULT_TIMEOUTS[OcfAction.MONITOR]}s" '
            f'interval="{interval}s" depth="{depth}"/>'
        )
    for action in (OcfAction.VALIDATE_ALL, OcfAction.META_DATA):
        out.append(f'<action name="{action.value}" timeout="{DEFAULT_TIMEOUTS[action]}s"/>')
    out += ["</actions>", "</resource-agent>", ""]
    return "\n".join(out)
