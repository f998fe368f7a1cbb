"""The text of every explorer picture the site can show is readable and fits.

Every stored state of every explorer, every step, as the page paints it: no text under 10
pixels at the picture's own size (the site shows scenes at 11 CSS pixels, and at 9 at the least
on a phone), none past the picture's edge, no two lines overlapping. The stored states are what
the scenes draw now (``tests/test_explorer_export.py``), so this holds for the scenes' code.
"""

from __future__ import annotations

import gzip
import json

import pytest

from cnnbook.draw.display_list import display_list, text_problems
from cnnbook.draw.primitives import new_figure
from cnnbook.draw.scene import MIN_FONTSIZE, Scene
from cnnbook.explorer_export import SITE_FOLDER, unpack

#: Pixels at a scene's own size: 9 points at 80 dpi.
SMALLEST_PX = 10
EXPORTED = sorted(p.parent.name for p in SITE_FOLDER.glob("*/index.json"))


def test_the_smallest_scene_text_is_ten_pixels() -> None:
    assert MIN_FONTSIZE * Scene.dpi / 72 == SMALLEST_PX


@pytest.mark.parametrize("name", EXPORTED)
def test_every_stored_state_has_readable_text_that_fits(name: str) -> None:
    problems, steps = [], 0
    for chunk in sorted((SITE_FOLDER / name).glob("chunk-*.json.gz")):
        for key, packed in json.loads(gzip.decompress(chunk.read_bytes())).items():
            for step in range(len(packed["frames"])):
                picture = {"width": packed["width"], "height": packed["height"],
                           "items": unpack(packed, step)}
                problems += [f"{name} state {key} step {step}: {problem}"
                             for problem in text_problems(picture, SMALLEST_PX)]
                steps += 1
    assert steps > 0, f"{name}: no stored state"
    assert not problems, "\n".join(problems[:20])


def test_text_problems_are_found() -> None:
    fig = new_figure(3.0, 2.0)
    fig.text(0.1, 0.5, "hello world")
    fig.text(0.15, 0.5, "again")  # on top of the first line
    fig.text(0.9, 0.5, "edge text")  # runs past the right edge
    fig.text(0.1, 0.1, "tiny", fontsize=5)
    fig.text(0.5, 0.9, "fine")
    assert text_problems(display_list(fig, 80), SMALLEST_PX) == [
        "'tiny' is 5.6 px", "'edge text' crosses the edge", "'hello world' overlaps 'again'"]


def test_a_turned_line_takes_its_turned_box() -> None:
    fig = new_figure(2.0, 2.0)
    fig.text(0.5, 0.1, "up the side", rotation=90, fontsize=10)
    fig.text(0.35, 0.3, "across")  # crosses the turned line
    problems = text_problems(display_list(fig, 80), SMALLEST_PX)
    assert problems == ["'up the side' overlaps 'across'"]
