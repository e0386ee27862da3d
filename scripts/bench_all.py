#!/usr/bin/env python
"""Every benchmark of the project on the county sample, as one table (``./scripts/bench``).

Order: the store (it measures building and loading the county itself, in a fresh
database), then — on one county sample built once with its rasters — tiles, the UI,
imports, hostile input, the event centre and the party board (they save their
screenshots), and last the governance loop (it grows the events to 100,000).
Each script's own table is kept in ``bench-<name>.txt``; this prints them as one.

    .venv/bin/python scripts/bench_all.py [--only tiles UI …]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import bench_engine, drop_bench, ensure_sample, machine  # noqa: E402

from twin.config import PROJECT_ROOT, Settings  # noqa: E402

SCRIPTS = PROJECT_ROOT / "scripts"
# (area, script, arguments): the first builds its own database, the others reuse one
RUNS = [
    ("store: load, roll-ups", "bench_store.py", ["--scale", "county"]),
    ("tiles", "bench_tiles.py", ["--scale", "county", "--reuse", "--keep"]),
    ("OGC: CRS, CQL2, tiles, SensorThings", "bench_ogc.py", ["--scale", "county", "--reuse", "--keep"]),
    ("UI", "bench_ui.py", ["--scale", "county", "--reuse", "--keep", "--no-screenshots"]),
    ("import", "bench_import.py", ["--reuse", "--keep"]),
    ("hostile input", "bench_hostile.py", ["--reuse", "--keep"]),
    ("event centre", "bench_centre.py", ["--scale", "county", "--reuse", "--keep"]),
    ("party board", "bench_party.py", ["--scale", "county", "--reuse", "--keep"]),
    ("三治积分", "bench_points.py", ["--scale", "county", "--reuse", "--keep"]),
    ("governance loop", "bench_events.py", ["--scale", "county", "--reuse", "--keep"]),
]


def _rows(area: str, text: str) -> list[str]:
    """The measure rows of a script's Markdown table, with the area in front."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith(("| measure", "| case", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if area == "hostile input":  # case | error | memory | time | written
            cells = [f"{cells[0]}: refused ({cells[1].split(':')[0]})",
                     f"{cells[2]} peak, {cells[3].split(' (')[0]}",
                     "clear error, 0 rows, bounded memory",
                     "ok" if cells[4] == "0" else f"{cells[4]} rows written!"]
        rows.append("| " + " | ".join([area, *cells[:4]]) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="areas to run (default: all)")
    args = parser.parse_args()
    settings = Settings()
    out_dir = PROJECT_ROOT
    table: list[str] = []
    started = time.perf_counter()
    built = False
    for area, script, extra in RUNS:
        if args.only and not any(o.lower() in area.lower() for o in args.only):
            continue
        if "--reuse" in extra and not built:  # one county sample for all that follow
            engine = bench_engine(settings, fresh=True)
            print("building the county sample once for the benchmarks …", file=sys.stderr)
            ensure_sample(engine, "county", Path(settings.data_dir) / "bench")
            engine.dispose()
            built = True
        print(f"running {script} …", file=sys.stderr)
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, str(SCRIPTS / script), *extra],
                             capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
        name = re.sub(r"^bench_|\.py$", "", script)
        (out_dir / f"bench-{name}.txt").write_text(run.stdout + run.stderr[-4000:])
        if run.returncode != 0:
            table.append(f"| {area} | {script} failed (exit {run.returncode}): see "
                         f"bench-{name}.txt | | | |")
            continue
        table += _rows(area, run.stdout)
        print(f"  {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    drop_bench(settings)
    minutes = (time.perf_counter() - started) / 60
    print(f"Village Twin benchmarks, county sample, {date.today()}, {machine()} "
          f"({minutes:.0f} min)\n")
    print("| area | measure | value | target | ratio to target |")
    print("|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
