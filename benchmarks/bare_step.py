"""What bounds a training loop from above: the bare training step, and the allocator around it.

:func:`bare_step_rate` times the training step alone (forward, loss, backward, update on batches
already in memory): no loop that runs the same kernels can be faster. ``bench_lenet.py`` applies
:func:`cnnbook.memory.reuse_freed_memory` to the process before it times either loop, so that
the comparison is between the loops and not between allocators.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from cnnbook.args import positive_int
from cnnbook.data import BatchIterator
from cnnbook.train import check_lr, choose_device, synchronize


def bare_step_rate(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    lr: float = 0.9,
    batch_size: int = 256,
    steps: int = 100,
    warmup: int = 10,
    channels_last: bool = False,
    device: str | torch.device = "cpu",
) -> float:
    """Examples per second of the training step alone: the ceiling of any loop that runs it.

    A copy of ``net`` (``net`` itself is not changed) is trained for ``steps`` steps of forward,
    cross-entropy, backward and plain SGD on batches of ``batch_size`` cut, one after another,
    from ``images``/``labels`` already on ``device``: no data loading, no metrics, no host reads,
    no evaluation. A training loop that runs the same kernels (eager PyTorch, float32, the same
    memory format) spends at least this time per example; ``bench_lenet.py`` uses it to show how
    much of a loop's timed step is the network's own arithmetic.
    """
    device = choose_device(device)
    steps = positive_int(steps, "steps")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup!r}")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    images = images.to(device)
    if images.dim() == 4:
        images = images.contiguous(memory_format=layout)
    batches = list(BatchIterator(images, labels.to(device), batch_size, drop_last=True))
    if not batches:
        raise ValueError(
            f"bare_step_rate needs at least one full batch: got {len(labels)} examples for "
            f"batch_size={batch_size}; pass more examples or a smaller batch_size"
        )
    model = copy.deepcopy(net).to(device)
    model.train()
    if channels_last:
        model.to(memory_format=layout)
    opt = torch.optim.SGD(model.parameters(), lr=check_lr(lr))
    loss_fn = nn.CrossEntropyLoss()
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            synchronize(device)
            start = time.perf_counter()
        x, y = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)
