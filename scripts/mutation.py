"""Mutation testing of the modules that carry the reliability promises (``make mutation``).

mutmut 3 imports mutants from ``mutants/src``, so the package is staged under ``src/`` in
``build/mutation``; the console script used by subprocess tests picks the mutants up through
``PYTHONPATH``. Prints the score per module and the surviving mutants.

Usage: python scripts/mutation.py [--max-children N] [--stage DIR] [--ignore TEST_PATH ...]
[MUTANT_PATTERN ...]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation"  # replaced by --stage
PACKAGE = "ld_insights_mcp"

# module → the functions in scope (None: the whole module)
SCOPE: dict[str, tuple[str, ...] | None] = {
    "launchdarkly/retries.py": None,
    "launchdarkly/transport.py": None,
    "launchdarkly/network.py": None,
    "launchdarkly/rate_limits.py": None,
    "launchdarkly/create_ledger.py": None,
    "launchdarkly/client.py": (
        "create_insight_group",
        "create_sent_recently",
        "_post_new_group",
        "_find_quietly",
    ),
    "tools/upstream.py": None,
    "transports/stdio/__init__.py": None,
    "transports/stdio/*.py": None,
}
TESTS = [
    "tests/reliability",
    "tests/launchdarkly",
    "tests/test_transports.py",
    "tests/test_tools.py",
    "tests/test_impossible_values.py",  # the transport's refusal of non-finite numbers
    "tests/test_confirmed_writes.py",  # the texts of a change that did not go through
    "tests/network/test_proxy_and_tls.py",  # the TLS and proxy fixes a connection error carries
]


def config(ignore: list[str]) -> str:
    """The ``[tool.mutmut]`` table; ``ignore`` names test files left out of the run."""
    pytest_args = ["-p", "no:cacheprovider", *(f"--ignore={path}" for path in ignore)]
    return f"""
[tool.mutmut]
source_paths = ["src/{PACKAGE}"]
only_mutate = {json.dumps([f"src/{PACKAGE}/{m}" for m in SCOPE])}
pytest_add_cli_args = {json.dumps(pytest_args)}
pytest_add_cli_args_test_selection = {json.dumps([t for t in TESTS if t not in ignore])}
also_copy = ["prompts", "README.md"]
use_git_change_detection = false
"""


def stage(ignored_tests: list[str]) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "src").mkdir(parents=True)
    # PYTHONPATH names mutants/src for the subprocesses; it must exist before the interpreter
    # starts, or Python caches "no such directory" for that path entry and imports the original.
    (STAGE / "mutants" / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "server" / PACKAGE, STAGE / "src" / PACKAGE, ignore=ignore)
    shutil.copytree(
        ROOT / "tests",
        STAGE / "tests",
        ignore=shutil.ignore_patterns("__pycache__", "node_modules"),
    )
    shutil.copytree(ROOT / "prompts", STAGE / "prompts")
    shutil.copy2(ROOT / "README.md", STAGE / "README.md")
    text = (ROOT / "pyproject.toml").read_text()
    (STAGE / "pyproject.toml").write_text(text + config(ignored_tests))


def scope_patterns() -> list[str]:
    """mutmut name patterns for the mutants in scope."""
    patterns = []
    for module, functions in SCOPE.items():
        # a package's __init__.py mutants are named after the package itself
        dotted = f"{PACKAGE}." + module.removesuffix("/__init__.py").removesuffix(".py").replace(
            "/", "."
        )
        if functions is None:
            patterns.append(f"{dotted}.x*")
        else:
            patterns += [f"{dotted}.x*{name}__mutmut_*" for name in functions]
    return patterns


def in_scope(mutant: str) -> bool:
    return any(fnmatch.fnmatchcase(mutant, pattern) for pattern in scope_patterns())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--stage", type=Path, help="work folder (default build/mutation)")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="TEST_PATH",
        help="leave this test file out (repeatable), e.g. one another change has broken",
    )
    parser.add_argument("patterns", nargs="*")
    args = parser.parse_args()
    if args.stage is not None:
        global STAGE
        STAGE = args.stage.resolve()
    stage(args.ignore)
    env = dict(os.environ, PYTHONPATH=str(STAGE / "mutants" / "src"))
    mutmut = [sys.executable, "-m", "mutmut"]
    run = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [
            *mutmut,
            "run",
            "--max-children",
            str(args.max_children),
            *(args.patterns or scope_patterns()),
        ],
        cwd=STAGE,
        env=env,
        check=False,
    )
    results = subprocess.run(  # noqa: S603 - as above
        [*mutmut, "results", "--all", "true"],
        cwd=STAGE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    status: dict[str, str] = {}
    for line in results.stdout.splitlines():
        name, sep, verdict = line.strip().rpartition(": ")
        if sep:
            status[name] = verdict
    scoped = {m: v for m, v in status.items() if in_scope(m)}
    per_module: dict[str, Counter[str]] = {}
    for mutant, verdict in scoped.items():
        module = mutant.split(".x", 1)[0].split(".x_")[0]
        module = module.rsplit(".", 1)[0] if "ǁ" in module else module
        per_module.setdefault(module, Counter())[verdict] += 1
    print("\nmutation score per module (killed / (killed + survived + timeout))")
    for module, counts in sorted(per_module.items()):
        killed = counts["killed"] + counts.get("caught by type check", 0)
        total = killed + counts["survived"] + counts["timeout"] + counts["no tests"]
        print(f"  {module}: {killed}/{total} = {100 * killed / max(total, 1):.1f}%  {dict(counts)}")
    survivors = sorted(m for m, v in scoped.items() if v not in ("killed", "caught by type check"))
    print(f"\n{len(survivors)} surviving mutants in scope:")
    for mutant in survivors:
        print(f"  {mutant}: {scoped[mutant]}")
    (STAGE / "summary.json").write_text(
        json.dumps(
            {"per_module": {k: dict(v) for k, v in per_module.items()}, "survivors": survivors},
            indent=2,
        )
    )
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
