"""Redraw time of the live explorers in a real JupyterLab, as a learner feels it.

    python benchmarks/bench_lab_redraw.py [--moves 30] [--json]

Starts JupyterLab (this environment's, no token, a free port) on a notebook that shows each
explorer, opens it in Chromium (Debian's, driven by Playwright), runs it, and then presses the
right-arrow key on each explorer's step slider again and again: the time from the key press to
the new picture decoded on the page, through the widget's messages and the kernel's drawing, is
one redraw. Prints the median and the 90th percentile per explorer. Target (issue 13): median
at most 100 ms in the real client, on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from results import report_redraws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from browser import launch  # noqa: E402

EXPLORERS = ["sliding_window_explorer", "multi_channel_explorer", "transposed_conv_explorer",
             "pooling_explorer", "interpolation_explorer"]

# In the page: time from a key press on explorer k's step slider to its new picture, decoded.
WATCH = """(k) => {
  const box = document.querySelectorAll('.jp-OutputArea-output .cnnbook-bench')[k];
  const img = box.querySelector('img');
  window.benchDone = null;
  const before = img.src;
  const pressed = {};
  document.addEventListener('keydown', () => { pressed.at = performance.now(); },
                            {capture: true, once: true});
  const observer = new MutationObserver(async () => {
    if (img.src === before) return;
    observer.disconnect();
    await img.decode();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    window.benchDone = performance.now() - pressed.at;
  });
  observer.observe(img, {attributes: true, attributeFilter: ['src']});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(folder: Path) -> Path:
    """A notebook with one cell per explorer; each explorer is marked for the page to find."""
    cells = [nbformat.v4.new_code_cell("from cnnbook import widgets")]
    for name in EXPLORERS:
        cells.append(nbformat.v4.new_code_cell(
            f"e = widgets.{name}()\ne.add_class('cnnbook-bench')\ne"))
    path = folder / "explorers.ipynb"
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                               "language": "python"}}  # no "select a kernel" dialog
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=metadata), path)
    return path


def start_lab(folder: Path, port: int) -> subprocess.Popen:
    lab = Path(sys.executable).parent / "jupyter-lab"
    process = subprocess.Popen(
        [str(lab), "--no-browser", f"--port={port}", "--ServerApp.token=",
         "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={folder}",
         "--ServerApp.allow_root=True"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(folder / "config")})
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=1)
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("JupyterLab did not start within a minute")


def measure(moves: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        notebook(folder)
        port = free_port()
        lab = start_lab(folder, port)
        try:
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/lab/tree/explorers.ipynb",
                          wait_until="commit", timeout=60000)
                page.wait_for_function("() => window.jupyterapp && document.querySelector("
                                       "'.jp-Notebook')", timeout=60000, polling=100)
                page.wait_for_timeout(2000)  # the kernel starts
                page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")
                page.wait_for_function(
                    f"() => document.querySelectorAll('.jp-OutputArea-output .cnnbook-bench "
                    f"img[src]').length === {len(EXPLORERS)}", timeout=120000, polling=100)
                page.wait_for_timeout(1000)
                for k, name in enumerate(EXPLORERS):
                    box = page.locator(".jp-OutputArea-output .cnnbook-bench").nth(k)
                    box.scroll_into_view_if_needed()
                    handles = box.locator(".widget-slider:has(.widget-label) .noUi-handle")
                    step = None
                    for h in range(handles.count()):
                        label = handles.nth(h).locator(
                            "xpath=ancestor::div[contains(@class,'widget-slider')][1]")
                        if label.locator(".widget-label").first.inner_text().strip() == "step":
                            step = handles.nth(h)
                    if step is None or not step.is_visible():
                        continue  # a one-step scene has no step slider
                    step.focus()
                    found = []
                    forward = True
                    for _ in range(moves):
                        # Bounce between the slider's ends.
                        value = float(step.get_attribute("aria-valuenow"))
                        if value >= float(step.get_attribute("aria-valuemax")):
                            forward = False
                        elif value <= float(step.get_attribute("aria-valuemin")):
                            forward = True
                        page.evaluate(WATCH, k)
                        page.keyboard.press("ArrowRight" if forward else "ArrowLeft")
                        page.wait_for_function("() => window.benchDone !== null",
                                               timeout=10000, polling=5)
                        found.append(page.evaluate("() => window.benchDone"))
                    times[name] = found
                browser.close()
        finally:
            lab.terminate()
            lab.wait(10)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    times = measure(args.moves)
    report_redraws(times, "in JupyterLab", args.json)


if __name__ == "__main__":
    main()
