#!/usr/bin/env python3
"""Compare two reference.json files number by number.

Usage: python compare_reference.py COMMITTED.json FRESH.json [--tol 1e-10]

Numbers match when |a - b| <= tol * max(1, |a|); every other value (strings, keys, list
lengths) must be equal. Exits 1 and lists the first mismatches otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


# The interpreter's patch version does not change the numbers; the packages are pinned.
IGNORED = {"$.versions.python"}


def walk(a, b, path, tol, errors):
    if path in IGNORED:
        return
    if isinstance(a, bool) or isinstance(b, bool):
        if a is not b:
            errors.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if not (math.isfinite(a) and math.isfinite(b)) or abs(a - b) > tol * max(1.0, abs(a)):
            errors.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            errors.append(f"{path}: keys differ: {sorted(a.keys() ^ b.keys())}")
        for k in a.keys() & b.keys():
            walk(a[k], b[k], f"{path}.{k}", tol, errors)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            errors.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", tol, errors)
    elif a != b:
        errors.append(f"{path}: {a!r} != {b!r}")


def count_numbers(x):
    if isinstance(x, bool):
        return 0
    if isinstance(x, (int, float)):
        return 1
    if isinstance(x, dict):
        return sum(count_numbers(v) for v in x.values())
    if isinstance(x, list):
        return sum(count_numbers(v) for v in x)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("committed")
    ap.add_argument("fresh")
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args()
    with open(args.committed) as fh:
        a = json.load(fh)
    with open(args.fresh) as fh:
        b = json.load(fh)
    errors: list[str] = []
    walk(a, b, "$", args.tol, errors)
    n = count_numbers(a)
    if errors:
        print(f"golden: {len(errors)} mismatches (tol {args.tol:g}):", file=sys.stderr)
        for e in errors[:20]:
            print("  " + e, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    print(f"golden: {n} numbers reproduced within {args.tol:g}")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
