"""Training as it goes: a progress bar, and a live plot (in a notebook) or a line per epoch.

:class:`LiveReport` is what :func:`cnnbook.train.train` shows while it trains: the running
training loss and accuracy a few times per epoch and the test accuracy after every epoch, as
the original article's plot does. In a notebook the plot is one image redrawn in place; in a
terminal each epoch prints one line.
"""

from __future__ import annotations

import sys
import time

REPORTS = ("auto", "plot", "text", "none")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, classic notebook, VS Code, Colab)."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveReport:
    """Shows training as it goes: a tqdm bar and a live plot (notebook) or text lines.

    ``mode`` is ``"plot"`` (a matplotlib figure, rendered without pyplot to a PNG and updated in
    place through an IPython display handle), ``"text"`` (one line per epoch), ``"none"``, or
    ``"auto"`` (plot in a notebook, text elsewhere). Drawing is throttled to ``min_interval``
    seconds so it never dominates a fast run.
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int,
        mode: str = "auto",
        progress: bool = True,
        min_interval: float = 0.5,
    ) -> None:
        if mode not in REPORTS:
            raise ValueError(f"report must be one of {REPORTS}, got {mode!r}")
        notebook = in_notebook()
        self.mode = ("plot" if notebook else "text") if mode == "auto" else mode
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.min_interval = min_interval
        self.points: list[tuple[float, float, float]] = []
        self.tests: list[tuple[float, float]] = []
        self._handle = None
        self._last_draw = 0.0
        self._figure = None
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs * steps_per_epoch, unit="batch", desc="training")

    def point(self, epoch: float, loss: float, acc: float) -> None:
        """A running (loss, train accuracy) point, ``epoch`` epochs into training (e.g. 1.4)."""
        self.points.append((epoch, loss, acc))
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{acc:.3f}", refresh=False)
            self.bar.update(round(epoch * self.steps_per_epoch) - self.bar.n)
        self._draw(force=False)

    def epoch_end(self, epoch: int, loss: float, acc: float, test_acc: float, secs: float) -> None:
        """An epoch's final figures."""
        self.tests.append((float(epoch), test_acc))
        line = (
            f"epoch {epoch}/{self.epochs}: loss {loss:.3f}, train acc {acc:.3f}, "
            f"test acc {test_acc:.3f} ({secs:.1f} s)"
        )
        if self.mode == "text":
            self._write(line)
        self._draw(force=True)

    def message(self, text: str) -> None:
        """A line of text that must be seen (divergence, interruption)."""
        if self.mode != "none":
            self._write(text)

    def close(self) -> None:
        """Close the bar and draw the last state."""
        self._draw(force=True)
        if self.bar is not None:
            self.bar.close()

    def _write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def _draw(self, force: bool) -> None:
        if self.mode != "plot" or not (self.points or self.tests):
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        from IPython.display import Image, display

        png, metadata = self.render_png()
        image = Image(data=png, format="png", width=metadata["width"])
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def render_png(self) -> tuple[bytes, dict[str, int]]:
        """The current plot (train loss, train accuracy, test accuracy vs epoch) as the book
        shows every picture: PNG bytes at twice its size, and its display width
        (:func:`cnnbook.draw.primitives.shown_png`)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from cnnbook.draw.primitives import shown_png

        if self._figure is None:
            self._figure = Figure(figsize=(5.5, 3.4), dpi=100, layout="constrained")
            FigureCanvasAgg(self._figure)
        fig = self._figure
        fig.clear()
        ax = fig.add_subplot()
        if self.points:
            x, loss, acc = zip(*self.points, strict=True)
            ax.plot(x, loss, "-", color="C0", label="train loss")
            ax.plot(x, acc, "--", color="C1", label="train acc")
        if self.tests:
            x, test = zip(*self.tests, strict=True)
            ax.plot(x, test, "-.o", color="C2", markersize=3, label="test acc")
        ax.set_xlabel("epoch")
        ax.set_xlim(0, self.epochs)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="center right")
        return shown_png(fig)
