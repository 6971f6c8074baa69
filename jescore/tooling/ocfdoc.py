"""docs/pacemaker-reference.md: the OCF contract as the agents apply it, rendered from the
tables they decide with (jescore.policy.ocf) and the declarations (one parameter list for
the VCS types files, the OCF meta-data and this page)."""

from __future__ import annotations

from jescore.policy.declaration import Dimension
from jescore.policy.ocf import (
    ANSWERS,
    DEFAULT_TIMEOUTS,
    ENTRY_OF,
    MONITOR_OPERATIONS,
    SECOND_LEVEL_DEPTH,
    VCS_ONLY,
    ZONES_ONLY,
    ocf_default,
    parameter_names,
)
from jescore.policy.registry import POLICIES
from jescore.tooling.docgen import HEADER, _table
from jescore.tooling.ocfmeta import AGENT_TEXT, must_be_given, unique_parameters

_CONTENT = {"str": "string", "int": "integer", "boolean": "boolean"}
_WRITTEN = {
    Dimension.SCALAR: "as is",
    Dimension.VECTOR: "words separated by spaces",
    Dimension.ASSOCIATION: "keys and values as words: `imap 143 pop 110`",
}


def exit_codes() -> str:
    rows = [[str(int(code)), code.name, situation.value] for situation, code in ANSWERS.items()]
    return _table(["exit", "OCF name", "when"], rows)


def actions() -> str:
    rows = [
        [action.value, entry.value, f"{DEFAULT_TIMEOUTS[action]} s"]
        for action, entry in ENTRY_OF.items()
    ]
    return _table(["action", "does what VCS's entry point does", "timeout in meta-data"], rows)


def parameters() -> str:
    out: list[str] = []
    for type_name, policy in POLICIES.items():
        decl = policy.declaration
        unique = unique_parameters(decl)
        out.append(f"### {type_name}: {AGENT_TEXT[type_name][0]}\n")
        rows = []
        for name in parameter_names(decl):
            attr = decl.attr(name)
            assert attr is not None
            default = ocf_default(attr)
            rows.append(
                [
                    f"`{name}`",
                    _CONTENT[attr.vcs_type.value],
                    _WRITTEN[attr.dimension],
                    "yes" if must_be_given(attr) else "no",
                    "yes" if name in unique else "no",
                    "" if default is None else f"`{default}`",
                    "yes" if attr.secret else "",
                ]
            )
        head = ["parameter", "type", "written", "required", "unique", "default", "password"]
        out.append(_table(head, rows))
    return "\n".join(out)


def pacemaker_page() -> str:
    ops = ", ".join(f"depth {d} every {i} s" for d, i in MONITOR_OPERATIONS)
    zone_only = sorted(
        {a.name for p in POLICIES.values() for a in p.declaration.attrs if a.zone_only}
    )
    reasons = {**VCS_ONLY, **dict.fromkeys(zone_only, ZONES_ONLY)}
    ignored = "\n".join(f"- `{name}`: {why}." for name, why in reasons.items())
    return (
        f"{HEADER}\n# Pacemaker (OCF) reference\n\n"
        "How the OCF agents answer, generated from the tables they decide with. The "
        "guide is docs/pacemaker.md.\n\n"
        "## Actions\n\n"
        f"{actions()}\n"
        "Without `OCF_RESKEY_CRM_meta_timeout` an action's budget is the timeout above; "
        "with it, the operation's timeout is shared out as VCS's AEPTimeout is "
        "(docs/policy.md, budgets). meta-data and usage print and answer 0; any other "
        "action answers 3.\n\n"
        "## Exit codes\n\n"
        f"{exit_codes()}\n"
        "## Monitor depth\n\n"
        f"`OCF_CHECK_LEVEL` below {SECOND_LEVEL_DEPTH}: the first level (the processes), "
        f"then MonitorProgram when set. {SECOND_LEVEL_DEPTH} and above: the second level "
        f"(the synthetic transactions) on every call as well. meta-data suggests {ops}.\n\n"
        "Not OCF parameters (ignored, with a warning, when given):\n\n"
        f"{ignored}\n\n"
        "## Parameters\n\n"
        f"{parameters()}"
    )
