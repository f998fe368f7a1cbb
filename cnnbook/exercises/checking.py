"""The machinery behind ``check``: a registry of exercises and the verdict a learner sees.

An exercise is *predict* (the answer is a value: a shape, a count, a number) or *write* (the
answer is a function, run on cases the learner has not seen). Its judge returns ``None`` when the
answer is right and otherwise a hint that points at the mistake without giving the answer away.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Judge = Callable[[Any], "str | None"]
KINDS = ("predict", "write")


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise: its key ("2.3"), kind, what the answer is, and its judge."""

    key: str
    kind: str
    asks: str
    judge: Judge
    wants_function: bool


_EXERCISES: dict[str, Exercise] = {}


def exercise(key: str, kind: str, asks: str,
             wants_function: bool | None = None) -> Callable[[Judge], Judge]:
    """Register ``judge`` as the checker of exercise ``key`` (used in ``cnnbook.exercises.chNN``).

    ``asks`` says in a few words what the answer is ("(rows, columns) of the output"); it is
    shown when the answer is missing or unreadable. A *write* exercise's answer is a function
    unless ``wants_function=False`` (a kernel the learner designs, checked on unseen images).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def register(judge: Judge) -> Judge:
        if key in _EXERCISES:
            raise ValueError(f"exercise {key} is registered twice")
        function = kind == "write" if wants_function is None else wants_function
        _EXERCISES[key] = Exercise(key, kind, asks, judge, function)
        return judge

    return register


def _load_chapter(key: str) -> None:
    chapter = key.split(".")[0]
    if not chapter.isdigit():
        raise ValueError(f"an exercise key is 'chapter.number', such as '2.3'; got {key!r}")
    try:
        importlib.import_module(f"cnnbook.exercises.ch{int(chapter):02d}")
    except ModuleNotFoundError as error:
        if error.name != f"cnnbook.exercises.ch{int(chapter):02d}":
            raise


def registered(chapter: int | None = None) -> list[Exercise]:
    """The checkable exercises of one chapter (or of every chapter with ``chapter=None``)."""
    chapters = range(1, 10) if chapter is None else [chapter]
    for number in chapters:
        _load_chapter(f"{number}.1")
    found = [e for e in _EXERCISES.values()
             if chapter is None or e.key.split(".")[0] == str(chapter)]
    return sorted(found, key=lambda e: tuple(int(part) for part in e.key.split(".")))


class Verdict:
    """What ``check`` returns: true when the answer is right, shown as ✅ or ❌ and a message."""

    def __init__(self, key: str, hint: str | None) -> None:
        self.key = key
        self.ok = hint is None
        self.message = "right." if hint is None else hint

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"{'✅' if self.ok else '❌'} Exercise {self.key}: {self.message}"


def check(key: str, answer: Any) -> Verdict:
    """Check the answer to exercise ``key`` ("chapter.number"): ``check("2.3", (5, 5))``."""
    _load_chapter(key)
    if key not in _EXERCISES:
        known = ", ".join(e.key for e in registered(int(key.split(".")[0]))) or "none"
        raise KeyError(f"exercise {key} has no checker; this chapter's checkable ones: {known}")
    entry = _EXERCISES[key]
    if answer is None or answer is Ellipsis:
        return Verdict(key, f"no answer yet: {entry.asks}")
    if entry.wants_function and not callable(answer):
        return Verdict(key, f"pass the function itself (its name, not a call): {entry.asks}")
    try:
        hint = entry.judge(answer)
    except Exception as error:  # a learner's answer of the wrong type must not crash the check
        hint = f"could not read the answer ({type(error).__name__}: {error}): {entry.asks}"
    return Verdict(key, hint)


# Helpers for judges -------------------------------------------------------------------------

def as_ints(answer: Any, length: int | None = None) -> tuple[int, ...]:
    """An answer such as ``(5, 5)``, ``[5, 5]`` or ``torch.Size([5, 5])`` as a tuple of ints."""
    if isinstance(answer, torch.Tensor):
        answer = answer.tolist()
    if isinstance(answer, (int, float)) or not isinstance(answer, Iterable):
        answer = (answer,)
    values = tuple(answer)
    for value in values:
        if isinstance(value, bool) or float(value) != int(value):
            raise TypeError(f"expected whole numbers, got {value!r}")
    if length is not None and len(values) != length:
        raise TypeError(f"expected {length} number(s), got {len(values)}")
    return tuple(int(v) for v in values)


def close(answer: Any, expected: float, rel: float = 1e-3, abs_tol: float = 1e-6) -> bool:
    """True when the number ``answer`` is within ``rel`` (relative) of ``expected``."""
    return math.isclose(float(answer), expected, rel_tol=rel, abs_tol=abs_tol)


def run_answer(function: Callable[..., Any], case: tuple, where: str) -> tuple[Any, str | None]:
    """Call the learner's ``function`` on a copy of ``case``: ``(result, None)``, or ``(None,
    hint)`` when it raised or returned nothing. ``where`` names the case in words."""
    try:
        got = function(*(a.clone() if isinstance(a, torch.Tensor) else a for a in case))
    except Exception as error:  # a learner's bug must become a hint, not a crash
        return None, f"on {where} your function raised {type(error).__name__}: {error}"
    if got is None:
        return None, f"on {where} your function returned None: is a `return` missing?"
    return got, None


def first_mismatch(function: Callable[..., Any], reference: Callable[..., Any],
                   cases: Sequence[tuple], describe: Callable[..., str],
                   atol: float = 1e-5) -> str | None:
    """Run ``function`` and ``reference`` on each case; describe the first case they disagree on.

    ``describe(*case)`` names a case in words ("a 5×4 input and a 3×2 kernel") so that the hint
    says where the learner's function fails without printing the expected numbers.
    """
    for case in cases:
        where = describe(*case)
        expected = reference(*case)
        got, hint = run_answer(function, case, where)
        if hint is not None:
            return hint
        if not isinstance(got, torch.Tensor):
            got = torch.as_tensor(got)
        if got.shape != expected.shape:
            return (f"on {where} your function returned shape {tuple(got.shape)}, which is not "
                    "the right shape")
        if not torch.allclose(got.to(expected.dtype), expected, atol=atol, rtol=1e-4):
            return f"on {where} the shape is right but the values are not"
    return None


def agrees(function: Callable[..., Any], reference: Callable[..., Any], case: tuple,
           atol: float = 1e-5) -> bool:
    """Whether ``function`` gives ``reference``'s tensor on ``case``: how a judge recognises a
    typical mistake (``reference`` is then the mistake) to name it in the hint."""
    got, hint = run_answer(function, case, "")
    if hint is not None or not isinstance(got, torch.Tensor):
        return False
    try:
        want = reference(*case)
    except Exception:  # a mistake that cannot happen on this case is not the learner's
        return False
    return got.shape == want.shape and torch.allclose(got.to(want.dtype), want, atol=atol)
