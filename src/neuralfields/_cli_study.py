"""The ``init-study`` command: its arguments, its config from them (or a recorded ``run.json``), the study,
and the summary it prints."""

from __future__ import annotations

import argparse
from typing import Any

from ._cli_args import add_image_set_arguments, csv, listing, positive

__all__ = ["add_init_study_parser", "init_study_command"]


def add_init_study_parser(p: argparse.ArgumentParser) -> None:
    """The arguments of ``neuralfields init-study`` (on a parser that has ``--config``)."""
    from .experiments.init_study import FULL_GRID, PROTOCOLS, STRATEGIES, InitStudyConfig

    cfg, quick = InitStudyConfig(), InitStudyConfig.quick()
    add_image_set_arguments(p, 32, "number of images loaded (default: 500; 200 with --quick)", "")
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default=cfg.protocol,
                   help="fitting recipe: library (nf.fit's defaults, 500 steps) or prefit-study (Adam 1e-4, full batch, "
                        "2000 steps, as the public study) (default: library)")  # fmt: skip
    p.add_argument("--layers", type=str, default=None, help=f"comma-separated sine-layer counts (default: {_join(cfg.layers)}; {_join(quick.layers)} with --quick)")
    p.add_argument("--widths", type=str, default=None, help=f"comma-separated widths (default: {_join(cfg.widths)}; {_join(quick.widths)} with --quick)")
    p.add_argument("--full-grid", action="store_true", help=f"the public study's grid: layers {_join(FULL_GRID['layers'])} x widths {_join(FULL_GRID['widths'])} (hours on a GPU)")
    p.add_argument("--triples", type=positive, default=None, help=f"number of (A, B, C) triples (default: {cfg.triples}; {quick.triples} with --quick)")
    p.add_argument("--steps", type=positive, default=None, help="fitting steps on A (default: the protocol's)")
    p.add_argument("--prefit-steps", type=positive, default=None, help="steps of the pre-fit on B or C (default: as --steps)")
    p.add_argument("--strategies", type=str, default=",".join(cfg.strategies), help=f"comma-separated: {listing(STRATEGIES)}")
    p.add_argument("--cap", type=float, default=cfg.cap, help=f"PSNR cap of the AUC in dB (default: {cfg.cap:g})")
    p.add_argument("--level", type=float, default=cfg.level, help=f"PSNR of the time-to-quality figures (default: {cfg.level:g})")
    p.add_argument("--channels", type=positive, choices=(1, 3), default=1, help="1 for grey, 3 for colour")
    p.add_argument("--quick", action="store_true", help="a grid for 2 CPU cores (a few minutes with the library recipe)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _join(values: Any) -> str:
    return ",".join(str(v) for v in values)


def init_study_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields init-study``."""
    from .errors import InvalidDataError
    from .experiments._report import config_from
    from .experiments.init_study import FULL_GRID, InitStudyConfig, init_study, verdict

    images, labels, source = image_set
    if labels is None:
        raise InvalidDataError(f"{source['data']} has no classes: use digits, crops or a folder laid out as root/class_name/*.png")
    if recorded is not None:
        config = config_from(InitStudyConfig, recorded[0])
    else:
        settings: dict[str, Any] = {"protocol": args.protocol, "strategies": csv(args.strategies, str, "--strategies"),
                                    "cap": args.cap, "level": args.level, "seed": args.seed}  # fmt: skip
        if args.full_grid:
            settings.update(FULL_GRID)
        for name, option in (("layers", "--layers"), ("widths", "--widths")):
            if getattr(args, name) is not None:
                settings[name] = csv(getattr(args, name), int, option)
        for name in ("triples", "steps", "prefit_steps"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        config = InitStudyConfig.quick(**settings) if args.quick else InitStudyConfig(**settings)
    grid = f"{_join(config.layers)} layers x {_join(config.widths)} wide"
    print(f"init study on {images.shape[0]} images of {images.shape[-1]}x{images.shape[-1]} from {source['data']}: "
          f"{config.triples} triples, {grid}, protocol {config.protocol} ({config.recipe()['steps']} steps)")  # fmt: skip
    m = init_study(images, labels, args.out, config, data=source, progress=not args.no_progress)
    for g in m["grid"]:
        aucs = ", ".join(f"{k} {sum(s['auc']) / len(s['auc']):.1f}" for k, s in g["strategies"].items())
        print(f"  {g['layers']}x{g['width']} ({g['parameters']:,} parameters) mean AUC: {aucs}")
    for line in verdict(m):
        print(f"  {line}")
    print(f"wrote {args.out}/")
    return 0
