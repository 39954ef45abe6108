"""Write a demo run's figures into the README, between its markers, or check that they are there.

    .venv/bin/python scripts/readme_results.py demo [--results data/results]         # after `make demo`
    .venv/bin/python scripts/readme_results.py quick --results <root>/results   # after unibind demo --max-per-class 10
    .venv/bin/python scripts/readme_results.py demo --check                          # exit 1 when they differ

The README's tables are never typed by hand: each block is rendered from one run's results.parquet,
balance.parquet and reproducibility.json. `tests/assets/test_reliability.py` compares the `quick` block
with the demo run it makes anyway (docs/method.md, Reproducibility).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COLUMNS = ("zs_templates", "zs_centres", "ft_centres")
_ROW = re.compile(r"^\| (\w+) \| (\w+) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$")


def markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- results:{name} (scripts/readme_results.py writes this block; do not edit) -->",
        f"<!-- /results:{name} -->",
    )


def _balance(results: Path) -> dict[tuple[str, str], float]:
    return {
        (r["setting"], r["classifier"]): r["balance"] for r in pq.read_table(results / "balance.parquet").to_pylist()
    }


def render(results: Path) -> str:
    """The block for one run: benchmark rows (3 decimals), balance, and the numeric environment it ran in."""
    rows = pq.read_table(results / "results.parquet").to_pylist()
    env = json.loads((results / "reproducibility.json").read_text())["numeric_environment"]
    lines = [
        "| benchmark | modality | zero-shot, CLIP templates | zero-shot, UniBind centres | fine-tuned, centres |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['benchmark']} | {r['modality']} | " + " | ".join(f"{r[c]:.3f}" for c in COLUMNS) + " |"
        for r in sorted(rows, key=lambda r: r["benchmark"])
    ]
    bal = _balance(results)
    lines += [
        "",
        f"Balance across modalities (min / max accuracy): {bal[('zero-shot', 'templates')]:.3f} zero-shot "
        f"with templates, {bal[('zero-shot', 'centres')]:.3f} with centres, "
        f"{bal[('fine-tuned', 'centres')]:.3f} after fine-tuning.",
    ]
    torch_, cpu = env["torch"], env["cpu"]
    lines += [
        "",
        f"Run in numeric mode `{env['mode']}` ({torch_['threads']} threads, torch kernels "
        f"{torch_['cpu_capability']}, FAISS {env['faiss']['simd']}) on {cpu['model']} ({cpu['cores']} cores); "
        f"torch {torch_['version']}, numpy {env['numpy']}, faiss {env['faiss']['version']}.",
    ]
    return "\n".join(lines)


def figures(text: str) -> dict[str, tuple[float, float, float]]:
    """benchmark -> (zs_templates, zs_centres, ft_centres) from a rendered block (or a whole README block)."""
    return {m[1]: (float(m[3]), float(m[4]), float(m[5])) for m in map(_ROW.match, text.splitlines()) if m}


def block(readme: str, name: str) -> str:
    begin, end = markers(name)
    if begin not in readme or end not in readme:
        raise ValueError(f"README has no results block {name!r} (markers {begin!r} ... {end!r})")
    return readme.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def rewrite(readme: str, name: str, rendered: str) -> str:
    begin, end = markers(name)
    block(readme, name)  # both markers present
    before, rest = readme.split(begin, 1)
    return f"{before}{begin}\n{rendered}\n{end}{rest.split(end, 1)[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="which README block: demo (make demo) or quick (--max-per-class 10)")
    parser.add_argument("--results", type=Path, default=ROOT / "data" / "results")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true", help="compare the figures; write nothing")
    opts = parser.parse_args(argv)
    readme, rendered = opts.readme.read_text(), render(opts.results)
    if opts.check:
        ours, theirs = figures(rendered), figures(block(readme, opts.name))
        if ours != theirs:
            diff = {
                b: (theirs.get(b), ours.get(b)) for b in sorted(set(ours) | set(theirs)) if ours.get(b) != theirs.get(b)
            }
            print(f"README block {opts.name!r} differs from {opts.results} (README, this run): {diff}", file=sys.stderr)
            return 1
        print(f"README block {opts.name!r} equals {opts.results}")
        return 0
    opts.readme.write_text(rewrite(readme, opts.name, rendered))
    print(f"README block {opts.name!r} written from {opts.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
