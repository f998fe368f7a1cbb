"""Conventions every chapter notebook keeps (DESIGN.md): checked on the committed files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = re.search(r"^\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M).group(1)


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def ignored(cell: dict) -> bool:
    source = "".join(cell["source"])
    return ("nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])
            or "NBVAL_IGNORE_OUTPUT" in source or "NBVAL_SKIP" in source)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path: Path) -> None:
    nb = json.loads(path.read_text())
    cells = code_cells(path)
    setup = "".join(cells[0]["source"])
    # Colab: the first cell installs cnnbook from the repository named in _config.yml.
    assert f"git+{REPO_URL}" in setup and "find_spec(\"cnnbook\")" in setup, setup
    assert any("seed_everything" in "".join(c["source"]) for c in cells[:3]), "no seed"
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, "cells never executed: re-run the notebook top to bottom"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), "executed out of order"
    assert sum(map(ignored, cells)) <= 0.10 * len(cells), "more than 10% of cells ignored"
    assert "widgets" not in nb["metadata"], "widget state stored: use scripts/execute_notebooks.py"
    for cell in cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"stored error in {path.name}"
    title = nb["cells"][0]
    assert title["cell_type"] == "markdown" and "".join(title["source"]).startswith("# ")
    toc = (ROOT / "_toc.yml").read_text()
    assert f"notebooks/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


def test_citations_link_to_bibliography_entries() -> None:
    """A citation is a plain link to references.md#<BibTeX key>: the key must exist."""
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.M))
    cited = set()
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                cited |= set(re.findall(r"references\.md#([\w-]+)\)", "".join(cell["source"])))
    assert cited, "no notebook cites a reference"
    assert cited <= keys, f"citations of unknown keys: {sorted(cited - keys)}"


MYST_SYNTAX = re.compile(r"\{[a-z][a-z:-]*\}`|^\s*(```|:::)\{", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_renders_outside_the_site(path: Path) -> None:
    """No MyST role or directive in a notebook: JupyterLab and Colab would show it as raw text."""
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            found = MYST_SYNTAX.search("".join(cell["source"]))
            assert not found, f"{path.name}: MyST syntax {found.group(0)!r}; use plain Markdown"


def chapter_label(path: Path) -> str:
    """"3" for 03_channels, "A" for the appendix: the prefix of the chapter's figure numbers."""
    return str(int(path.name[:2])) if path.name[:2].isdigit() else "A"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_numbers_captions_and_alt_text(path: Path) -> None:
    """Every figure a cell outputs has a caption "Figure C.k." (numbered within the chapter), a
    name to link to, and alt text that says what it shows; links to figures name the right one."""
    chapter = chapter_label(path)
    cells = json.loads(path.read_text())["cells"]
    numbers = {}
    for cell in cells:
        if cell["cell_type"] != "code" or not any(
                "image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            continue
        meta = cell["metadata"].get("mystnb", {})
        figure, alt = meta.get("figure", {}), meta.get("image", {}).get("alt", "")
        expected = f"Figure {chapter}.{len(numbers) + 1}."
        source = "".join(cell["source"]).splitlines()[-1]
        assert figure.get("caption", "").startswith(expected + " "), f"{source}: no {expected!r}"
        assert figure.get("name", "").startswith("fig-"), f"{expected} has no name"
        assert len(alt) >= 30 and "/" not in alt, f"{expected}: alt text {alt!r}"
        numbers[figure["name"]] = expected.removeprefix("Figure ").rstrip(".")
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for number, name in re.findall(r"\[Figure ([\dA]+\.\d+)\]\(#([\w-]+)\)",
                                           "".join(cell["source"])):
                assert numbers.get(name) == number, f"link 'Figure {number}' to #{name}"


def test_figure_names_are_unique_and_each_figure_is_one_display() -> None:
    """The site makes one figure of every display a captioned cell outputs, and links figures by
    name across the book: a name used twice, or a progress bar next to a plot, breaks both."""
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            name = cell["metadata"].get("mystnb", {}).get("figure", {}).get("name")
            if not name:
                continue
            assert name not in seen, f"figure name {name} in {path.name} and {seen[name]}"
            seen[name] = path.name
            displays = [o for o in cell.get("outputs", [])
                        if o["output_type"] in ("display_data", "execute_result")]
            assert len(displays) == 1, f"{path.name} {name}: {len(displays)} displays"


#: A figure may shrink until its smallest text is 9 CSS pixels (cnnbook.css); one whose text
#: is smaller than this at its own size would be shown larger than drawn.
SMALLEST_FIGURE_TEXT_PX = 9


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_pictures_are_sharp_and_say_their_size(path: Path) -> None:
    """Every stored picture is drawn at twice the width it is shown at, and carries what the
    site sizes it by: figures their width (display metadata) and smallest text (PNG entries),
    animation frames the same as CSS variables, with 10-pixel text at the least."""
    import base64
    import io

    from PIL import Image

    for cell in code_cells(path):
        source = "".join(cell["source"]).splitlines()[-1]
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                image = Image.open(io.BytesIO(base64.b64decode(data["image/png"])))
                width = out.get("metadata", {}).get("image/png", {}).get("width")
                assert width and abs(2 * width - image.width) <= 1, f"{source}: width {width}"
                assert image.text.get("cnnbook density") == "2", source
                text = float(image.text.get("cnnbook smallest text px", 0))
                assert text >= SMALLEST_FIGURE_TEXT_PX, f"{source}: text of {text} px"
            html = "".join(data.get("text/html", []))
            for frame in re.findall(r"<img id=\"_anim_img[^>]*>", html):
                found = re.search(r'class="cnnbook-picture" style="--width: (\d+)px; '
                                  r'--text: ([\d.]+);', frame)
                assert found, f"{source}: the animation's frame is not sized: {frame[:80]}"
                assert float(found.group(2)) >= 10, f"{source}: animation text {found.group(2)}"
