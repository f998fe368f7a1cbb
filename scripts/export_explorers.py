"""Draw every state of the site's explorers (cnnbook.explorer_export) into _ext/static/explorers.

Run after changing a scene or an explorer's controls:  python scripts/export_explorers.py [name]
(all of them by default; about 20 minutes on 2 cores). The files are committed, like the
notebooks' outputs; tests/test_explorer_export.py fails while they are stale.
"""

from __future__ import annotations

import argparse
import os
import time

from cnnbook.explorer_export import SITE_EXPLORERS, SITE_FOLDER, export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(SITE_EXPLORERS)} "
                        "(default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    unknown = set(args.names) - set(SITE_EXPLORERS)
    if unknown:
        parser.error(f"no explorer named {', '.join(sorted(unknown))}")
    for name in args.names or SITE_EXPLORERS:
        start = time.perf_counter()
        index = export(SITE_EXPLORERS[name], SITE_FOLDER / name, workers=args.workers)
        drawn = [s for s in index["states"].values() if "steps" in s]
        files = sorted((SITE_FOLDER / name).iterdir())
        print(f"{name}: {len(index['states'])} combinations, {len(drawn)} states, "
              f"{sum(s['steps'] for s in drawn)} steps, "
              f"{sum(f.stat().st_size for f in files) / 1e3:.0f} kB in {len(files)} files, "
              f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
