"""make mutate, first step: have mutmut test a random sample of the policy's mutants.

    python -m tests.mutation_sample [--size N] [--seed S]

Testing every mutant of jescore/policy (about 4,000) takes hours on 2 cores; a uniform
random sample of a few hundred takes minutes and estimates the score of all of them to
within a few points (tests.mutation_score prints the 95 % interval). mutmut first makes
every mutant and times the tests (a run naming no existing mutant tests none); then the
sample, drawn with a fixed seed so that two runs on the same code test the same mutants,
is tested. `--size all` tests every mutant; mutmut keeps its verdicts in mutants/, so a
later full run re-tests only the mutants of functions that changed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

from tests.mutation_score import outcomes

MUTMUT = str(Path(sys.executable).with_name("mutmut"))
NOTHING = "no.such.module.x_nothing*"  # a mutant name that matches no mutant


def mutmut(*names: str) -> str:
    """Run mutmut on these mutant names; what it said on standard error (its progress
    display on standard output is not wanted in a log)."""
    done = subprocess.run(
        [MUTMUT, "run", "--max-children", str(len(os.sched_getaffinity(0))), *names],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    return done.stderr


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation_sample")
    parser.add_argument("--size", default="300", help="how many mutants, or 'all'")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    if args.size == "all":
        sys.stderr.write(mutmut())
        return 0
    if not args.size.isdigit() or int(args.size) < 1:
        parser.error(f"--size must be a positive number or 'all', not {args.size!r}")
    said = mutmut(NOTHING)  # makes every mutant and the test timings, then fails to match
    names = sorted(outcomes())
    if not names:
        sys.stderr.write(said)
        print("mutmut made no mutants (see mutants/ and pyproject.toml)", file=sys.stderr)
        return 1
    chosen = random.Random(args.seed).sample(names, min(int(args.size), len(names)))
    print(f"testing {len(chosen)} of {len(names)} mutants (seed {args.seed})", flush=True)
    sys.stderr.write(mutmut(*chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
