"""jescore must stay pure: no module in it may import anything that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "jescore"

# What the core may import: pure standard modules and itself.
ALLOWED = {
    "__future__", "collections", "dataclasses", "enum", "re", "typing", "typing_extensions",
    "itertools", "functools", "jescore",
}  # fmt: skip


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_only_pure_modules() -> None:
    offenders = {
        f"{path.name}: {sorted(imported_roots(path) - ALLOWED)}"
        for path in CORE.rglob("*.py")
        if imported_roots(path) - ALLOWED
    }
    assert not offenders, f"jescore imports I/O-capable modules: {offenders}"


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom subprocess import run\nfrom jescore import checks\n")
    assert imported_roots(sample) - ALLOWED == {"os", "subprocess"}


def test_core_ships_type_information() -> None:
    assert (CORE / "py.typed").exists()


# Built-ins that reach outside the process or run text as code: the core calls none.
FORBIDDEN_CALLS = {"open", "print", "exec", "eval", "compile", "input", "__import__", "breakpoint"}


def called_builtins(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    } & FORBIDDEN_CALLS


def test_core_calls_no_io_or_code_running_builtin() -> None:
    offenders = {f"{p.name}: {sorted(called_builtins(p))}" for p in CORE.rglob("*.py")}
    offenders = {o for o in offenders if not o.endswith(": []")}
    assert not offenders, f"jescore calls I/O or code-running built-ins: {offenders}"


def test_the_call_check_sees_a_forbidden_call(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("x = open('f')\nprint(x)\ny = len(x)\n")
    assert called_builtins(sample) == {"open", "print"}
