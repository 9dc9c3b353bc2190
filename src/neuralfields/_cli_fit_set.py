"""The ``fit-set`` command: its arguments, its config from them (or a recorded ``run.json``), the run, and
the summary it prints."""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from ._cli_args import add_image_set_arguments, positive

__all__ = ["add_fit_set_parser", "fit_set_command", "DEFAULT_N"]

DEFAULT_N = (1000, 200)
"""Images of ``fit-set`` without ``--n``: ``(default, with --quick)``."""


def add_fit_set_parser(p: argparse.ArgumentParser) -> None:
    """The arguments of ``neuralfields fit-set`` (on a parser that has ``--config``)."""
    from .experiments.fit_set import FitSetConfig

    cfg, quick = FitSetConfig(), FitSetConfig.quick()
    add_image_set_arguments(p, 16, f"number of images (default: {DEFAULT_N[0]}; {DEFAULT_N[1]} with --quick)")
    p.add_argument("--steps", type=positive, default=None, help=f"fit_many steps per group (default: {cfg.steps}; {quick.steps} with --quick)")
    p.add_argument("--group-size", type=positive, default=cfg.group_size, help=f"images fitted together, one shard each (default: {cfg.group_size})")
    p.add_argument("--hidden-features", type=positive, default=cfg.hidden_features, help=f"SIREN width (default: {cfg.hidden_features})")
    p.add_argument("--hidden-layers", type=positive, default=cfg.hidden_layers, help=f"SIREN hidden layers (default: {cfg.hidden_layers})")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: nf.fit's recipe)")
    p.add_argument("--quick", action="store_true", help=f"{quick.steps} steps per group and {DEFAULT_N[1]} images by default")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def fit_set_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields fit-set``; under ``torchrun`` every process runs it and the groups are shared out."""
    from ._dist import end_group, init_from_env

    started, clean = init_from_env(), False
    try:
        status = _fit_set(args, recorded, image_set)
        clean = True
        return status
    finally:
        end_group(started, clean)


def _fit_set(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    from ._dist import is_main, rank_and_world
    from .experiments._report import config_from, write_run
    from .experiments.fit_set import FitSetConfig, fit_set

    images, _, source = image_set
    if recorded is not None:
        config = config_from(FitSetConfig, recorded[0])
    else:
        settings: dict[str, Any] = {"group_size": args.group_size, "hidden_features": args.hidden_features,
                                    "hidden_layers": args.hidden_layers, "lr": args.lr, "seed": args.seed}  # fmt: skip
        if args.steps is not None:
            settings["steps"] = args.steps
        config = FitSetConfig.quick(**settings) if args.quick else FitSetConfig(**settings)
    n, c, h, w = images.shape
    world = rank_and_world()[1]
    if is_main():
        on = f" on {world} processes" if world > 1 else ""
        print(f"fitting one field per image{on}: {n} images of {c}x{h}x{w} from {source['data']}, in groups of {config.group_size}")
    index = fit_set(images, args.out, config, data=source, progress=not args.no_progress)
    if not is_main():
        return 0
    write_run(args.out, "fit-set", config, source)
    psnr = [p for g in index["groups"].values() for p in g["psnr"]]
    rate = index["fitted_now"] / index["seconds"] if index["fitted_now"] else 0.0
    print(f"{len(psnr)} fields ({index['fitted_now']} fitted now, {rate:.1f} fields/s), PSNR mean {statistics.fmean(psnr):.2f} dB "
          f"(min {min(psnr):.2f}); wrote {args.out}/index.json and {len(index['groups'])} shards")  # fmt: skip
    return 0
