"""Run the W3C SHACL test suite on kg's fast SHACL path and print one line per test.

Usage: python bench/shacl_conformance.py PATH [--only core|sparql] [-v]
PATH is the suite's folder (holding core/ and sparql/); -v also prints why a test failed or
was declined. A test expecting a failure (sht:Failure: a shapes graph SHACL says must be
reported) passes when the fast path raises ShapesError. Exit code 1 when any test fails (a
wrong answer), else 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from kg.shacl_conformance import SUITES, run, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the suite's folder (core/ and sparql/ inside)")
    parser.add_argument("--only", choices=SUITES, help="run one part of the suite")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the reasons too")
    args = parser.parse_args(argv)
    if not (args.path / "core" / "manifest.ttl").is_file():
        parser.error(f"{args.path} holds no core/manifest.ttl: not the W3C SHACL suite")
    logging.getLogger("rdflib").setLevel(logging.CRITICAL)  # ill-typed literals are tested
    warnings.filterwarnings("ignore", module="rdflib")
    outcomes = run(args.path, args.only)
    for o in outcomes:
        reason = f"  {o.reason}" if args.verbose and o.reason else ""
        print(f"{o.status:9} {o.suite}/{o.name}{reason}")
    for suite, counts in summary(outcomes).items():
        parts = ", ".join(f"{counts[s]} {s}" for s in ("pass", "fail", "declined", "n/a"))
        print(f"{suite}: {sum(counts.values())} tests: {parts}")
    return 1 if any(o.status == "fail" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
