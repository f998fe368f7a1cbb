"""Every picture in the book is drawn here, with matplotlib, from real tensors.

* :mod:`~cnnbook.draw.primitives`: the palette, a matrix as a grid of numbered cells, a figure
  as PNG bytes;
* :mod:`~cnnbook.draw.scene`: :class:`Scene`, a picture that changes over steps, and
  :class:`WindowScene`, what every sliding-window scene shares;
* one module per family of scenes: :mod:`~cnnbook.draw.sliding_window_scene`,
  :mod:`~cnnbook.draw.multi_channel_scene`, :mod:`~cnnbook.draw.pooling_scene`,
  :mod:`~cnnbook.draw.transposed_scene`, :mod:`~cnnbook.draw.interpolation_scene`;
* :mod:`~cnnbook.draw.figures`: the static figures.

Scenes never compute a convolution themselves: they call the ops of the package and draw the
numbers those return, so every picture shows what the tested code computes. The sample inputs
they start from live in :mod:`cnnbook.examples`.
"""

from cnnbook.conv import dilated_stack_paths
from cnnbook.draw.figures import (
    align_corners_figure,
    confusion_matrix_figure,
    curves_figure,
    pipeline_figure,
    receptive_field_figure,
    shaded_grids_figure,
)
from cnnbook.draw.interpolation_scene import InterpolationScene
from cnnbook.draw.multi_channel_scene import MultiChannelScene
from cnnbook.draw.pooling_scene import PoolingWindowScene
from cnnbook.draw.primitives import (
    COLORS,
    draw_grid,
    figure_png,
    finish_axes,
    format_value,
    new_figure,
    outline_box,
    outline_cells,
    show_images,
)
from cnnbook.draw.scene import Scene, WindowScene
from cnnbook.draw.sliding_window_scene import SlidingWindowScene
from cnnbook.draw.transposed_scene import TransposedConvScene
from cnnbook.examples import interpolation_path, interpolation_samples

__all__ = [
    "COLORS",
    "InterpolationScene",
    "MultiChannelScene",
    "PoolingWindowScene",
    "Scene",
    "SlidingWindowScene",
    "TransposedConvScene",
    "WindowScene",
    "align_corners_figure",
    "confusion_matrix_figure",
    "curves_figure",
    "draw_grid",
    "figure_png",
    "finish_axes",
    "format_value",
    "new_figure",
    "outline_box",
    "outline_cells",
    "pipeline_figure",
    "receptive_field_figure",
    "shaded_grids_figure",
    "show_images",
    # Their homes are cnnbook.examples and cnnbook.conv; kept here so that older imports work.
    "dilated_stack_paths",
    "interpolation_path",
    "interpolation_samples",
]

# Inside a trained network (chapter 8): the scene of every layer's output, and the figures of
# what cnnbook.probes measures.
from cnnbook.draw.inside_scene import InsideScene  # noqa: E402
from cnnbook.draw.probe_figures import (  # noqa: E402
    evidence_figure,
    kernels_figure,
    patches_figure,
)

__all__ += ["InsideScene", "evidence_figure", "kernels_figure", "patches_figure"]
