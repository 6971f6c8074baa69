"""make mutate, last step: the mutation score of the policy, from mutmut's records.

    python -m tests.mutation_score [--survivors]

mutmut keeps, per mutated module, the exit code of the tests run against each mutant
(mutants/<module>.meta): 0 means the tests passed, so the mutant survived; any other
code means they caught it; none means no test reached the mutated function.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")


def outcomes() -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in sorted(MUTANTS.rglob("*.meta")):
        found.update(json.loads(meta.read_text())["exit_code_by_key"])
    return found


def verdict(code: int | None) -> str:
    if code is None:
        return "not reached by a test"
    return "survived" if code == 0 else "killed"


def main(argv: list[str]) -> int:
    found = outcomes()
    if not found:
        print("no mutmut records under mutants/: run make mutate", file=sys.stderr)
        return 1
    counts = Counter(verdict(code) for code in found.values())
    killed, total = counts["killed"], len(found)
    print(f"mutants: {total}; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"mutation score: {killed / total:.1%} ({killed} of {total} killed)")
    # Keys are <module>.x_<function>__mutmut_<n> or <module>.xǁ<Class>ǁ<method>__mutmut_<n>.
    by_module = Counter(
        re.split(r"\.x[_\u01c1]", key, maxsplit=1)[0] for key, code in found.items() if code == 0
    )
    for module, survivors in by_module.most_common():
        print(f"  survivors in {module}: {survivors}")
    if "--survivors" in argv:
        for key, code in sorted(found.items()):
            if code == 0:
                print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
