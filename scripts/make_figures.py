"""Draw the figures of the prose pages (book/figures/) with the package's own code.

    python scripts/make_figures.py

Run by `make book` before the build, so the pictures always match the code.
"""

from __future__ import annotations

from pathlib import Path

from cnnbook.draw import pipeline_figure
from cnnbook.draw.primitives import shown_png
from cnnbook.models import lenet

FIGURES = Path(__file__).resolve().parent.parent / "book" / "figures"


def main() -> None:
    """Write every figure of the prose pages."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    # Drawn at twice its size, with the entries the site sizes it by (as every cell's figure).
    png, _ = shown_png(pipeline_figure(lenet(), (1, 1, 28, 28)), dpi=120)
    (FIGURES / "cnn_pipeline.png").write_bytes(png)
    print(f"wrote {FIGURES / 'cnn_pipeline.png'}")


if __name__ == "__main__":
    main()
