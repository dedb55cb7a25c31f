"""``python -m benchmarks [--quick] [--only NAME ...] [--out DIR] [--name NAME]``."""

from __future__ import annotations

import os

# One BLAS thread unless the caller says otherwise: on a shared two-core machine a
# multi-threaded BLAS spins against the other processes and timings become noise (a
# 300 x 300 solve measured 0.1-0.5 s with the default threads, 5 ms with one). Set before
# numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, short caps (< 2 min)")
    parser.add_argument(
        "--only", nargs="*", help="run only problems whose name contains one of these"
    )
    parser.add_argument("--no-extras", action="store_true", help="skip scaling and schemes")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results"), help="output folder"
    )
    parser.add_argument("--name", default=None, help="file stem (default: quick / full)")
    args = parser.parse_args(argv)

    from .report import write
    from .runner import Config, run_all

    cfg = Config.make(args.quick)
    result = run_all(cfg, only=args.only, extras=not args.no_extras)
    name = args.name or ("quick" if args.quick else "full")
    paths = write(result, args.out, name)
    print()
    for t in result["targets"]:
        print(f"[{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']}")
    print(f"total {result['total_wall']:.1f} s; wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
