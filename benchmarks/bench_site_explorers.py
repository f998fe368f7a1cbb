"""Redraw time of the site's explorers in Chromium: a control moved -> the new picture painted.

    python benchmarks/bench_site_explorers.py _build/html [--moves 40] [--json]

Serves a built site on 127.0.0.1, opens each page that has explorers in Debian's Chromium, and
presses the arrow keys on every control of each explorer in turn (bouncing between the ends of
each slider, walking through each list). The explorer's script times each redraw from the
control's input event to the frame after the new picture is in the page, including fetching a
chunk of states the first time one is needed. Prints the median and 90th percentile per
explorer. Target (issue 13): at most 100 ms.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from results import report_redraws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from browser import launch, serve  # noqa: E402


def measure(site: Path, moves: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with serve(site) as root, sync_playwright() as p:
        base = root + "/"
        browser = launch(p)
        for page_file in sorted(site.glob("notebooks/*.html")):
            if "cnnbook-explorer" not in page_file.read_text():
                continue
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(base + str(page_file.relative_to(site)), wait_until="networkidle")
            for root in page.query_selector_all(".cnnbook-explorer"):
                name = root.get_attribute("data-src").rstrip("/").rsplit("/", 1)[-1]
                if name in times:
                    continue
                root.scroll_into_view_if_needed()
                page.wait_for_function("(e) => e.dataset.ready", arg=root, timeout=20000)
                controls = root.query_selector_all("input, select")
                for _ in range(moves // max(1, len(controls)) + 1):
                    for control in controls:
                        if not control.is_visible():
                            continue
                        control.focus()
                        at_end = control.evaluate("(e) => e.tagName === 'SELECT' ? "
                                                  "e.selectedIndex === e.options.length - 1 "
                                                  ": +e.value === +e.max")
                        page.keyboard.press("Home" if at_end else "ArrowRight"
                                            if control.evaluate("(e) => e.tagName") == "INPUT"
                                            else "ArrowDown")
                        page.wait_for_timeout(30)
                page.wait_for_timeout(300)
                times[name] = page.evaluate(
                    "(e) => window.cnnbookExplorers.find(x => x.root === e).redraws", root)
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site (_build/html)")
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    times = measure(args.site, args.moves)
    report_redraws(times, "on the site", args.json)


if __name__ == "__main__":
    main()
