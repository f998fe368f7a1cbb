"""cnnbook: the support package of an interactive textbook on convolutional neural networks.

The notebooks teach; this package computes, draws and trains. Each module holds one idea and
reads like an appendix to a chapter (see DESIGN.md).
"""

from cnnbook.notebook import quick_mode, register_figure_display, seed_everything, show_source

register_figure_display()

__all__ = ["quick_mode", "seed_everything", "show_source"]
__version__ = "0.1.0"
