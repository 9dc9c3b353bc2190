"""The ``generate`` command: its arguments, its config from them (or a recorded ``run.json``), the
experiment, and the table it prints."""

from __future__ import annotations

import argparse
from typing import Any

from ._cli_args import add_image_set_arguments, csv, listing, positive
from ._registry import available

__all__ = ["add_generate_parser", "generate_command", "DEFAULT_N"]

DEFAULT_N = (1797, 1797)
"""Images of ``generate`` without ``--n``: ``(default, with --quick)`` (all the digits)."""


def add_generate_parser(p: argparse.ArgumentParser) -> None:
    """The arguments of ``neuralfields generate`` (on a parser that has ``--config``)."""
    from .experiments.generate import GenerateConfig

    cfg, quick = GenerateConfig(), GenerateConfig.quick()
    add_image_set_arguments(p, cfg.size, f"number of images (default: {DEFAULT_N[0]}, all the digits)")
    p.add_argument("--gan-steps", type=positive, default=None,
                   help=f"adversarial training steps (default: {cfg.gan_steps}; {quick.gan_steps} with --quick)")  # fmt: skip
    p.add_argument("--hyper-steps", type=positive, default=None,
                   help=f"HyperSiren training steps (default: {cfg.hyper_steps}; {quick.hyper_steps} with --quick)")  # fmt: skip
    p.add_argument("--head", type=str, default=cfg.head,
                   help=f"the adversarial generator's hyper-head: {listing(available('hyper-head'))} (default: {cfg.head})")  # fmt: skip
    p.add_argument("--priors", type=str, default=",".join(cfg.priors),
                   help=f"comma-separated code priors to fit to the HyperSiren's codes: {listing(available('code-prior'))} "
                   f"(default: {','.join(cfg.priors)})")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="fewer steps, for 2 CPU cores (about two minutes on the digits)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def generate_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields generate``."""
    from .errors import InvalidDataError
    from .experiments._report import config_from, write_run
    from .experiments.generate import GenerateConfig, generate

    images, labels, source = image_set
    if labels is None:
        raise InvalidDataError(f"{source['data']} has no classes for the judge: use digits, crops or a folder laid out as root/class_name/*.png")
    if recorded is not None:
        config = config_from(GenerateConfig, recorded[0])
    else:
        settings: dict[str, Any] = {"size": args.size, "seed": args.seed, "head": args.head, "priors": csv(args.priors, str, "--priors")}
        for name in ("gan_steps", "hyper_steps"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        config = GenerateConfig.quick(**settings) if args.quick else GenerateConfig(**settings)
    config.check()
    print(f"generating {config.size}x{config.size} images as fields from {images.shape[0]} images of {source['data']} "
          f"({config.test_fraction:.0%} held out for the judge): adversarial {config.gan_steps} steps, "
          f"HyperSiren {config.hyper_steps} steps, priors {', '.join(config.priors)}")  # fmt: skip
    m = generate(images, labels, args.out, config, progress=not args.no_progress)
    write_run(args.out, "generate", config, source)
    print(f"judge: a classifier at {m['judge']['accuracy']:.1%} held-out accuracy; {m['judge']['count']} samples per method")
    print(f"  {'method':20s} {'Fréchet':>8s} {'classes':>8s} {'confid.':>8s} {'NN dist':>8s} {'params':>9s} {'ms/sample':>9s}")
    for name, r in m["table"].items():
        params = "" if r.get("parameters") is None else f"{r['parameters']:,}"
        per = "" if r.get("seconds_per_sample") is None else f"{1000 * r['seconds_per_sample']:.2f}"
        print(f"  {name:20s} {r['frechet']:8.2f} {r['coverage']:8.0%} {r['confidence']:8.2f} {r['nn_distance']:8.3f} {params:>9s} {per:>9s}")
    print(f"wrote {args.out}/")
    return 0
