"""Exercises that check themselves: ``check("2.3", answer)`` prints ✅ or ❌ with a hint.

Each chapter's checkers live in their own module (``ch01`` … ``ch08``), loaded the first time one
of its exercises is checked. A checker never stores the answer: it computes it with the book's
own code (a shape with :mod:`cnnbook.shapes`, a function against the book's op on cases the
learner has not seen), so a checker is as trustworthy as the code the tests already check.
"""

from cnnbook.exercises.checking import Verdict, check, registered

__all__ = ["Verdict", "check", "registered"]
