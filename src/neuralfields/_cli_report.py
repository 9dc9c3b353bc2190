"""The ``memorize``, ``train-prior``, ``restore`` and ``hyper-train`` commands: their configs from the arguments (or a
recorded ``run.json``), the experiment, and the summary they print."""

from __future__ import annotations

import argparse
from typing import Any

from .errors import ConfigError

__all__ = ["memorize_command", "train_prior_command", "restore_command", "hyper_train_command", "print_caveats"]


def print_caveats(metrics: dict[str, Any], indent: int = 0) -> None:
    """One line per flag of a report's ``health`` (:func:`~neuralfields.training.training_health`)."""
    for caveat in (metrics.get("health") or {}).get("caveats", []):
        print(f"{'':{indent}s}caveat: {caveat}")

def memorize_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields memorize``."""
    from .experiments import MemorizeConfig, memorize
    from .experiments._report import config_from

    images, _, source = image_set
    if recorded is not None:
        config = config_from(MemorizeConfig, recorded[0])
    else:
        settings = {
            "conditioning": args.conditioning, "base_width": args.base_width, "width_multiple": args.width_multiple,
            "hidden_layers": args.hidden_layers, "bottleneck": args.bottleneck, "latent_dim": args.latent_dim,
            "latent_mode": args.latent_mode, "factor": args.factor, "holdout": args.holdout, "augment": args.augment,
            "embedding_place": args.embedding_place, "metric": args.metric, "seed": args.seed,
        }  # fmt: skip
        if args.steps is not None:
            settings["steps"] = args.steps
        config = MemorizeConfig.quick(**settings) if args.quick else MemorizeConfig(**settings)
    size = images.shape[-1]
    print(f"memorising {len(images)} images of {size}x{size} from {source['data']} (trained at {size // config.factor})")
    m = memorize(images, args.out, config, data=source, progress=not args.no_progress)
    up = m.get("upsampling", {}).get("mean", {})
    line = f"train PSNR {m['psnr']:.2f} dB, held-out {m['val_psnr'] or float('nan'):.2f} dB"
    if up:
        line += f"; upsampled {up['field_psnr']:.2f} dB (bicubic {up['bicubic_psnr']:.2f})"
    print(f"{line}; wrote {args.out}/")
    print_caveats(m)
    return 0


def train_prior_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields train-prior``."""
    from .experiments._report import config_from, write_run
    from .experiments.priors import TrainPriorConfig, train_prior

    images, labels, source = image_set
    if recorded is not None:
        config = config_from(TrainPriorConfig, recorded[0])
    else:
        settings: dict[str, Any] = {
            "latent_dim": args.latent_dim, "moment_weight": args.moment_weight, "test_fraction": args.test_fraction,
            "seed": args.seed, "patch": source["data"] == "patches",
        }  # fmt: skip
        if args.width is not None:
            settings["width"] = args.width
        if args.steps is not None:
            settings["steps"] = args.steps
        config = TrainPriorConfig.quick(**settings) if args.quick else TrainPriorConfig(**settings)
    size = images.shape[-1]
    kind = "patch autoencoders (for images of any size)" if config.patch else "autoencoders"
    print(f"training two {kind} on {images.shape[0]} images of {size}x{size} from {source['data']}")
    m = train_prior(images, args.out, config, labels=labels, progress=not args.no_progress)
    write_run(args.out, "train-prior", config, source)
    for name, res in m["models"].items():
        t = res["test"]
        print(f"{name:15s} test reconstruction {t['reconstruction_psnr']:.2f} dB (train {res['train']['reconstruction_psnr']:.2f}), "
              f"KS to uniform {t['ks_mean']:.3f} (max {t['ks_max']:.3f}), pair occupancy {t['pair_occupancy']:.2f}, "
              f"{res['steps']} steps in {res['seconds']:.0f} s")  # fmt: skip
        print_caveats(res, 16)
    print(f"wrote {args.out}/")
    return 0


def restore_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields restore``."""
    from pathlib import Path

    from ._cli_args import csv
    from .experiments._report import config_from, write_run
    from .experiments.priors import TrainPriorConfig, load_priors, train_prior
    from .experiments.restore import RestoreConfig, restore
    from .priors import PatchAutoEncoder

    images, labels, source = image_set
    if recorded is not None:
        config = config_from(RestoreConfig, recorded[0])
        priors_folder = source.get("priors")
        quick = bool(source.get("quick", False))
    else:
        settings: dict[str, Any] = {
            "task": args.task, "seed": args.seed, "stop": args.stop,
            "sigma": args.sigma if args.sigma is not None else (0.1 if args.task == "denoise" else 0.01),
            "methods": csv(args.methods, str, "--methods"),
        }  # fmt: skip
        if args.iterations is not None:
            settings["iterations"] = args.iterations
        if args.snapshots is not None:
            settings["snapshots"] = csv(args.snapshots, int, "--snapshots")
        if args.test is not None:
            settings["test"] = args.test
        config = RestoreConfig.quick(**settings) if args.quick else RestoreConfig(**settings)
        priors_folder = str(args.priors) if args.priors is not None else None
        quick = bool(args.quick)
        source = {**source, "priors": priors_folder, "quick": quick}
    if priors_folder is None:
        folder = Path(args.out) / "priors"
        print(f"training the priors first (into {folder})")
        seed = int(source.get("seed", 0))
        prior_cfg = TrainPriorConfig.quick(seed=seed) if quick else TrainPriorConfig(seed=seed)
        train_prior(images, folder, prior_cfg, labels=labels)
    else:
        folder = Path(priors_folder)
    priors, heldout = load_priors(folder)
    if any(isinstance(p, PatchAutoEncoder) for p in priors.values()):
        heldout = None  # patch priors were trained on another image set (patches), so every image is unseen
    if heldout is not None and int(heldout.max()) >= images.shape[0]:
        raise ConfigError(f"the priors in {folder} were trained on more images than --n {images.shape[0]}; use the same --n")
    m = restore(images, args.out, config, priors=priors, heldout=heldout, progress=not args.no_progress)
    write_run(args.out, "restore", config, source)
    print(f"{config.task} (sigma {config.sigma}): corrupted {m['corrupted_psnr']:.2f} dB")
    for name, r in m["methods"].items():
        at = ", ".join(f"@{k} {v:.2f}" for k, v in r["psnr_at"].items())
        best = r["best_iteration_in_hindsight"]
        lam = "" if r["lam"] is None else f"; lam {_geo_mean(r['lam']):.3g} ({r['lam_rule'] or 'fixed'})"
        if r["best_grid_lam_psnr"] is not None:
            lam += f", best grid lam in hindsight {r['best_grid_lam_psnr']:.2f} dB"
        print(f"  {name:15s} {at}; stop ({r['early_stop']['rule']}) {r['psnr_early_stop']:.2f} dB at iteration "
              f"{r['early_stop']['mean_iteration']:.0f} (mean; per image), best iteration in hindsight (one for all "
              f"images) {best['psnr']:.2f} dB at {best['iteration']}{lam}")  # fmt: skip
    print(f"wrote {args.out}/")
    return 0


def _geo_mean(values: list[float]) -> float:
    import math

    return math.exp(sum(math.log(max(v, 1e-300)) for v in values) / len(values))


def hyper_train_command(args: argparse.Namespace, recorded: Any, image_set: tuple[Any, Any, dict[str, Any]]) -> int:
    """``neuralfields hyper-train``."""
    from ._cli_args import csv
    from .experiments._report import config_from, write_run
    from .experiments.hyper import HyperTrainConfig, hyper_train

    images, _, source = image_set
    if recorded is not None:
        config = config_from(HyperTrainConfig, recorded[0])
    else:
        settings: dict[str, Any] = {
            "size": args.size, "n": images.shape[0], "test_fraction": args.test_fraction, "seed": args.seed,
            "heads": csv(args.heads, str, "--heads"),
        }  # fmt: skip
        if args.context_fractions is not None:
            settings["context_fractions"] = csv(args.context_fractions, float, "--context-fractions")
        for name in ("latent_dim", "steps", "finetune_steps"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        config = HyperTrainConfig.quick(**settings) if args.quick else HyperTrainConfig(**settings)
    print(f"training HyperSirens ({', '.join(config.heads)} heads) on {images.shape[0]} images of {config.size}x{config.size} "
          f"from {source['data']}, {config.test_fraction:.0%} held out")  # fmt: skip
    m = hyper_train(images, args.out, config, progress=not args.no_progress)
    write_run(args.out, "hyper-train", config, source)
    for name, r in m["heads"].items():
        best = " (best, saved)" if name == m["best_head"] else ""
        print(f"  {name:8s} test PSNR {r['test_psnr']:.2f} dB (train {r['train_psnr']:.2f}), {r['parameters']:,} parameters, "
              f"{1000 * r['seconds_per_step']:.1f} ms/step{best}")  # fmt: skip
        print_caveats(r, 11)
    ctx = ", ".join(f"{100 * float(f):g}% {p:.2f} dB" for f, p in m["context"].items())
    print(f"context pixels (set encoder, {m['context_model']['head']} head), test PSNR: {ctx}")
    t = m["finetune"]
    reached = [s for s in t["scratch"]["per_image"]["steps_to_one_shot"] if s is not None]
    when = (f"reaches it after {sum(reached) / len(reached):.0f} steps on average" if len(reached) == len(t["images"])
            else f"reaches it within {t['steps']} steps on {len(reached)} of {len(t['images'])} images")  # fmt: skip
    at = min(10, t["steps"])
    print(f"{len(t['images'])} test images: one-shot {t['one_shot']['psnr']:.2f} dB ({1000 * t['one_shot']['seconds']:.1f} ms); "
          f"nf.fit from scratch {when}")  # fmt: skip
    print(f"  after {at} / {t['steps']} nf.fit steps: from scratch {t['scratch']['psnr_at'][str(at)]:.2f} / "
          f"{t['scratch']['psnr']:.2f} dB, fine-tuned from the guess {t['finetune']['psnr_at'][str(at)]:.2f} / "
          f"{t['finetune']['psnr']:.2f} dB ({t['scratch']['seconds']:.2f} s and {t['finetune']['seconds']:.2f} s)")  # fmt: skip
    print(f"wrote {args.out}/")
    return 0
