"""The classic LeNet trained as fast as one GPU goes: the whole training step as one CUDA graph.

The whole data set sits on the GPU; each step is one replay of a CUDA graph that holds the whole
training step (batch gather by a shuffled index, forward under bf16 autocast with channels-last
tensors, cross-entropy, backward, SGD update, and the on-device sums of loss and correct
predictions), so the host only launches two things per batch (the index copy and the replay).
LeNet is tiny: at batch 256 a step is dozens of small kernels, and without the graph their launch
overhead, not the arithmetic, sets the pace. ``bench_lenet.py --mode graph`` runs it; the target
on one NVIDIA H100 is >= 2,000,000 examples/sec timed and <= 3 s wall-clock for 10 epochs.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from cnnbook.data import load_fashion_mnist
from cnnbook.models import lenet, reinitialise
from cnnbook.train import synchronize


def run_graph(args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Train with the whole step captured in one CUDA graph."""
    t0 = time.perf_counter()
    data = load_fashion_mnist(device)
    if args.limit:
        data = data.subset(args.limit, args.limit)
    memory = torch.channels_last if args.channels_last else torch.contiguous_format
    images = data.train_images.contiguous(memory_format=memory)
    labels = data.train_labels
    test_images = data.test_images.contiguous(memory_format=memory)
    torch.manual_seed(args.seed)
    net = reinitialise(lenet()).to(device, memory_format=memory)
    opt = torch.optim.SGD(net.parameters(), lr=0.9)
    loss_fn = nn.CrossEntropyLoss()
    batch = args.batch_size
    n = len(labels)
    full, tail = divmod(n, batch)
    index = torch.zeros(batch, dtype=torch.long, device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)

    def step(idx: torch.Tensor) -> None:
        x = images.index_select(0, idx)
        y = labels.index_select(0, idx)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.amp, cache_enabled=False):
            y_hat = net(x)
            loss = loss_fn(y_hat, y)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum.add_(loss.detach().float() * len(idx))
            correct.add_((y_hat.argmax(dim=1) == y).sum())

    # Warm up on a side stream (as CUDA graph capture requires), then restore the initial
    # weights so the warm-up steps do not count as training.
    initial = [p.detach().clone() for p in net.parameters()]
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            step(index)
    torch.cuda.current_stream(device).wait_stream(stream)
    opt.zero_grad(set_to_none=True)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step(index)  # backward *assigns* .grad here (grads were None): no zero_grad per replay
    with torch.no_grad():
        for p, p0 in zip(net.parameters(), initial, strict=True):
            p.copy_(p0)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    synchronize(device)
    setup = time.perf_counter() - t0

    timed = 0.0
    history = []
    wall_start = time.perf_counter()
    for _epoch in range(args.epochs):
        start = time.perf_counter()
        loss_sum.zero_()
        correct.zero_()
        order = torch.randperm(n, device=device, generator=generator)
        for i in range(full):
            index.copy_(order[i * batch : (i + 1) * batch])
            graph.replay()
        if tail:
            # The last, smaller batch runs eagerly; the graph's .grad tensors are reused, so
            # they are zeroed first (eager backward accumulates).
            opt.zero_grad(set_to_none=False)
            step(order[full * batch :])
        synchronize(device)
        timed += time.perf_counter() - start
        net.eval()
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, enabled=args.amp):
            hits = sum(
                (net(test_images[i : i + 10_000]).argmax(1) == data.test_labels[i : i + 10_000])
                .sum()
                for i in range(0, len(data.test_labels), 10_000)
            )
        net.train()
        loss_value, hits_value, right = torch.stack(
            [loss_sum, torch.as_tensor(hits, device=device).float(), correct.float()]
        ).tolist()
        history.append((loss_value / n, right / n, hits_value / len(data.test_labels)))
    synchronize(device)
    wall = time.perf_counter() - wall_start
    loss_value, train_acc, test_acc = history[-1]
    return {
        "examples_per_sec": args.epochs * n / timed,
        "wall": wall,
        "setup": setup,
        "loss": loss_value,
        "train_acc": train_acc,
        "test_acc": test_acc,
    }
