"""Every chapter's exercises come in three kinds, each checkable one has a checker that the
notebook's worked solution passes, and every exercise has a worked solution (DESIGN.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnnbook.exercises import check, registered

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ITEM = re.compile(r"^(\d+)\. \*\*(Predict|Write|Explore)\.\*\*", re.M)


def cells(path: Path) -> list[tuple[str, str, list]]:
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), c.get("outputs", [])) for c in nb["cells"]]


def exercise_list(path: Path) -> str:
    text = [s for kind, s, _ in cells(path) if kind == "markdown" and "## Exercises" in s]
    assert len(text) == 1, f"{path.name}: one Markdown cell holds the exercise list"
    return text[0].split("## Exercises", 1)[1]


def chapter_of(path: Path) -> int:
    return int(path.name[:2])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_three_kinds_of_exercise(path: Path) -> None:
    items = ITEM.findall(exercise_list(path))
    numbers = [int(n) for n, _ in items]
    assert numbers == list(range(1, len(numbers) + 1)), f"exercises numbered {numbers}"
    kinds = {kind for _, kind in items}
    assert kinds == {"Predict", "Write", "Explore"}, f"{path.name} has only {sorted(kinds)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_checkable_exercise_has_a_checker(path: Path) -> None:
    chapter = chapter_of(path)
    text = exercise_list(path)
    keys = {e.key: e for e in registered(chapter)}
    for number, kind in ITEM.findall(text):
        key = f"{chapter}.{number}"
        if kind in ("Predict", "Write"):
            assert key in keys, f"exercise {key} ({kind}) has no checker"
            assert f'check("{key}"' in text, f"exercise {key} does not say how to check it"
            assert keys[key].kind == kind.lower(), f"exercise {key} is {kind} in the text"
    listed = {f"{chapter}.{n}" for n, _ in ITEM.findall(text)}
    assert set(keys) <= listed, f"checkers without an exercise: {set(keys) - listed}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_a_worked_solution(path: Path) -> None:
    chapter = chapter_of(path)
    all_cells = cells(path)
    for number, kind in ITEM.findall(exercise_list(path)):
        code = [(s, out) for k, s, out in all_cells
                if k == "code" and s.startswith(f"# Solution to exercise {number}:")]
        words = [s for k, s, _ in all_cells
                 if k == "markdown" and f"<summary>Answer to exercise {number}</summary>" in s]
        assert code or words, f"exercise {chapter}.{number} has no worked solution"
        if kind in ("Predict", "Write"):
            assert code, f"exercise {chapter}.{number} needs a code solution that calls check"
            source, outputs = code[0]
            assert f'check("{chapter}.{number}"' in source
            shown = json.dumps(outputs, ensure_ascii=False)
            assert f"✅ Exercise {chapter}.{number}: right." in shown, (
                f"the stored solution of {chapter}.{number} does not pass its checker")


def test_solution_cells_are_collapsed() -> None:
    for path in CHAPTERS:
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            match = re.match(r"# Solution to exercise (\d+):", source)
            if cell["cell_type"] == "code" and match:
                meta = cell["metadata"]
                assert "hide-cell" in meta.get("tags", []), path.name
                assert meta["mystnb"]["code_prompt_show"] == f"Solution to exercise {match[1]}"
                assert meta["jupyter"] == {"source_hidden": True, "outputs_hidden": True}


def test_each_checker_has_tests() -> None:
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_exercises_ch*.py"))
    for entry in registered():
        assert f'"{entry.key}"' in tests, f"checker {entry.key} is never tested"


def test_missing_answers_get_a_clear_message() -> None:
    for entry in registered():
        verdict = check(entry.key, None)
        assert not verdict and "no answer yet" in repr(verdict)
