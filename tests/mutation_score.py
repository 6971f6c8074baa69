"""make mutate, last step: the mutation score of the policy, from mutmut's records.

    python -m tests.mutation_score [--survivors]

mutmut keeps, per mutated module, the exit code of the tests run against each mutant
(mutants/<module>.meta): 0 means the tests passed, so the mutant survived; a failure,
hang or crash means they caught it; none means it was not checked (yet). The score is
the killed share of the mutants checked; when they are a random sample
(tests.mutation_sample), its 95 % interval says what it tells of all of them.
"""

from __future__ import annotations

import json
import math
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


# mutmut's reading of the exit codes it records (mutmut 3, __main__.status_by_exit_code).
KILLED = {1, 3}
TIMEOUT = {-24, 24, 36, 152, 255}
NO_TESTS = {5, 33}


def verdict(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in KILLED or code in TIMEOUT or code in {-9, -11}:
        return "killed"  # a test failed, hung or crashed: the mutant was noticed
    if code == 0:
        return "survived"
    if code in NO_TESTS:
        return "no test reaches it"
    return "skipped or suspicious"


def wilson(hits: int, tries: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion seen in a random sample (95 % at z 1.96):
    unlike p ± z·sqrt(p(1-p)/n), it stays within 0..1 and holds for scores near 100 %."""
    p = hits / tries
    centre = p + z * z / (2 * tries)
    spread = z * math.sqrt(p * (1 - p) / tries + z * z / (4 * tries * tries))
    scale = 1 + z * z / tries
    low, high = (centre - spread) / scale, (centre + spread) / scale
    return max(0.0, min(low, p)), min(1.0, max(high, p))  # rounding can stray at 0 and 1


def main(argv: list[str]) -> int:
    found = outcomes()
    if not found:
        print("no mutmut records under mutants/: run make mutate", file=sys.stderr)
        return 1
    counts = Counter(verdict(code) for code in found.values())
    killed, survived = counts["killed"], counts["survived"]
    print(f"mutants: {len(found)}; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    checked = killed + survived
    if checked:
        print(f"mutation score: {killed / checked:.1%} ({killed} of the {checked} checked killed)")
    if checked and counts["not checked"]:  # a sample (make mutate): what it says of them all
        low, high = wilson(killed, checked)
        print(f"  of all {len(found)} mutants, with 95 % confidence: {low:.1%} to {high:.1%}")
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
