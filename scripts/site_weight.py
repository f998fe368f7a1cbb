"""What each page of the built site costs a reader: bytes transferred, HTML size, load time.

    python scripts/site_weight.py _build/html [--json out.json]

Serves the folder on 127.0.0.1, opens every page in Chromium (cache off), and sums the encoded
bytes of every response the page loads before the network goes idle (lazy-loaded frames that
wait for a scroll or a click are not counted: a reader who does not look at them does not pay
for them). Load time is the page's own navigation timing (load event), in ms.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from browser import launch, serve, site_pages


def measure(site: Path, viewport: tuple[int, int] = (1366, 900)) -> list[dict]:
    """One row per page: transferred bytes, requests, HTML bytes, load time."""
    from playwright.sync_api import sync_playwright

    rows = []
    with serve(site) as base, sync_playwright() as p:
        root = base + "/"
        browser = launch(p)
        for page_path in site_pages(site):
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            sizes: list[int] = []
            cdp.on("Network.loadingFinished",
                   lambda e, seen=sizes: seen.append(int(e["encodedDataLength"])))
            page.goto(root + page_path, wait_until="load")
            page.wait_for_load_state("networkidle")
            load_ms = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd")
            rows.append({"page": page_path, "transferred": sum(sizes), "requests": len(sizes),
                         "html": (site / page_path).stat().st_size, "load_ms": round(load_ms)})
            context.close()
        browser.close()
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (sizes in KB)."""
    lines = ["| page | transferred (KB) | requests | HTML (KB) | load (ms) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['page']} | {r['transferred'] / 1024:,.0f} | {r['requests']} | "
                     f"{r['html'] / 1024:,.0f} | {r['load_ms']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site, e.g. _build/html")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    measured = measure(args.site)
    print(table(measured))
    if args.json:
        args.json.write_text(json.dumps(measured, indent=1) + "\n")
