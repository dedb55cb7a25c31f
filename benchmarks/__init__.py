"""Benchmarks of filippov against the solvers a user would pick instead (issue 8).

Run ``python -m benchmarks --quick`` (under two minutes on two cores) or
``python -m benchmarks`` (the full run); see ``benchmarks/README.md``. Results go to
``benchmarks/results/<name>.json`` / ``.md`` / ``.png`` (git-ignored).

Modules: :mod:`benchmarks.problems` (what is integrated), :mod:`benchmarks.peers` (the
methods), :mod:`benchmarks.runner` (timing, errors, scaling, targets) and
:mod:`benchmarks.report` (JSON, markdown, work-precision plot).
"""
