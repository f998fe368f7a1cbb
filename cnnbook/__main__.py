"""Command line: ``python -m cnnbook train ...`` trains LeNet on Fashion-MNIST from a terminal.

``--model lenet`` trains the classic LeNet with the original article's recipe
(:data:`cnnbook.train.CLASSIC`), ``--model modern`` the modern LeNet with its recipe
(:data:`cnnbook.train.MODERN`); the other options change one field of the recipe. It shows a
progress bar and one line per epoch, then the summary. (The benchmarks that time this loop
against d2l's are scripts in ``benchmarks/``.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial

from cnnbook import data, models
from cnnbook import train as training
from cnnbook.datafiles import DataCorruptedError, DataNotFoundError

RECIPES = {"lenet": training.CLASSIC, "modern": training.MODERN}
#: Learning rate when only the optimizer is changed.
DEFAULT_LR = {"sgd": 0.1, "sgd-momentum": 0.1, "adam": 0.001}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnnbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train LeNet (or the modern LeNet) on Fashion-MNIST")
    train.add_argument("--model", choices=tuple(RECIPES), default="lenet",
                       help="the network and its recipe (default: lenet)")
    train.add_argument("--activation", choices=sorted(models.ACTIVATIONS), default="sigmoid",
                       help="for --model lenet: the activation (default: the original sigmoid)")
    train.add_argument("--pool", choices=sorted(models.POOLS), default="avg",
                       help="for --model lenet: the pooling (default: the original average)")
    train.add_argument("--batch-norm", action="store_true",
                       help="for --model lenet: batch normalisation after each layer")
    train.add_argument("--epochs", type=int, default=None, help="default: the recipe's (10)")
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: the model's recipe, see --optimizer)")
    train.add_argument("--optimizer", choices=training.OPTIMIZERS, default=None,
                       help="default: sgd (lr 0.9) for lenet; sgd-momentum (lr 0.1, weight "
                       "decay 5e-4, cosine schedule, random flips) for modern")
    train.add_argument("--weight-decay", type=float, default=None)
    train.add_argument("--schedule", choices=("cosine", "none"), default=None)
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="random left-right flips of the training images")
    train.add_argument("--batch-size", type=int, default=None, help="default: the recipe's (256)")
    train.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, ...")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None,
                       help="train and test on the first N examples only (a quick check)")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="channels-last weights (default: on for cpu and cuda)")
    train.add_argument("--amp", action="store_true", help="bf16 autocast (mixed precision)")
    train.add_argument("--compile", action="store_true", help="torch.compile the network")
    train.add_argument("--download", action="store_true",
                       help="download Fashion-MNIST into ./data if it is not found locally")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)  # fmt: skip
    return parser


def recipe_from_args(args: argparse.Namespace) -> training.Recipe:
    """The ``--model``'s recipe with the fields the command line sets changed."""
    recipe = RECIPES[args.model]
    if args.model == "lenet":
        variant = partial(models.lenet, args.activation, args.pool, args.batch_norm)
        recipe = recipe.replace(model=variant)
    if args.optimizer not in (None, recipe.optimizer):
        recipe = recipe.replace(optimizer=args.optimizer, lr=DEFAULT_LR[args.optimizer])
    changes = {
        "lr": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "weight_decay": args.weight_decay,
        "schedule": args.schedule,
        "augment": args.augment,
    }
    changes = {name: value for name, value in changes.items() if value is not None}
    if changes.get("schedule") == "none":
        changes["schedule"] = None
    return recipe.replace(**changes)


def _train(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    net = recipe.make_model()
    device = training.choose_device(args.device)
    dataset = data.load_fashion_mnist(device, download=args.download)
    if args.limit is not None:
        dataset = dataset.subset(args.limit, args.limit)
    print(
        f"training {args.model} ({models.count_parameters(net):,} parameters) on {device}: "
        f"{len(dataset.train_labels):,} training / {len(dataset.test_labels):,} test images, "
        f"{recipe}, seed {args.seed}",
        flush=True,
    )
    try:
        history = training.train(
            net, dataset, recipe, device=device, seed=args.seed, report="text",
            progress=not args.no_progress, channels_last=args.channels_last, amp=args.amp,
            compile=args.compile,
        )  # fmt: skip
    except training.TrainingDivergedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(history.summary())
    return 130 if history.status == "interrupted" else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m cnnbook`` and of the ``cnnbook`` script."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (DataNotFoundError, DataCorruptedError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
