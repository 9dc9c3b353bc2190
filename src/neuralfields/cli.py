"""The ``neuralfields`` command: fit, memorize, train-prior, restore, hyper-train, render, plugins, samples."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, NeuralFieldsError, OptionalDependencyError

__all__ = ["main", "build_parser"]


def _size(text: str) -> tuple[int, int]:
    """``"256"`` or ``"256x384"`` -> ``(H, W)``."""
    parts = text.lower().split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW (e.g. 256 or 1024x768), got {text!r}") from None
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected N or HxW with positive sizes, got {text!r}")
    return dims  # type: ignore[return-value]


def _batch(text: str) -> int | None:
    if text == "full":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int or 'full', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int or 'full', got {text!r}")
    return value


def _csv(text: str, kind: type, option: str) -> tuple[Any, ...]:
    """``"a,b,c"`` -> a tuple of ``kind`` values (empty items skipped); a ConfigError naming ``option``."""
    try:
        return tuple(kind(item.strip()) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated {kind.__name__} values, got {text!r}") from None


def _image_set_arguments(p: argparse.ArgumentParser, size: int, n_help: str, size_note: str = "") -> None:
    """The image-set arguments of train-prior, restore and hyper-train (read by :func:`_prior_images`)."""
    p.add_argument("data", metavar="DATA", nargs="?", default="digits", help="a folder of images, or digits | crops | shapes (default: digits)")
    p.add_argument("--out", required=True, type=Path, help="report folder (created)")
    p.add_argument("--n", type=int, default=None, help=n_help)
    p.add_argument("--size", type=int, default=size, help=f"image size{size_note} (default: {size})")
    p.add_argument("--seed", type=int, default=0, help="random seed")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``neuralfields`` command."""
    from .training.fit import DEFAULTS

    parser = argparse.ArgumentParser(
        prog="neuralfields", description="Neural fields (implicit neural representations) in PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"neuralfields {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "fit",
        help="fit a SIREN to an image and write the field, pictures and metrics",
        description="Fit a SIREN to an image file or a bundled sample and write, under --out: field.safetensors, "
        "reconstruction.png, comparison.png, training_curve.png and metrics.json (and render_HxW.png with "
        "--render-size).",
    )
    p.add_argument("image", metavar="IMAGE|SAMPLE", help="an image file, or a sample name (see `neuralfields samples`)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--steps", type=int, default=500, help="training steps (default: 500)")
    p.add_argument("--size", type=_size, default=None, help="resize the image to N or HxW before fitting")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None, help="1 for grey, 3 for colour")
    p.add_argument("--hidden-features", type=int, default=256, help="width of the sine layers (default: 256)")
    p.add_argument("--hidden-layers", type=int, default=3, help="number of sine layers (default: 3)")
    p.add_argument("--first-omega-0", type=float, default=30.0, help="first layer's omega_0 (default: 30)")
    p.add_argument("--hidden-omega-0", type=float, default=30.0, help="other layers' omega_0 (default: 30)")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help=f"learning rate (default: {DEFAULTS['lr']})")
    p.add_argument(
        "--batch-size", type=_batch, default=DEFAULTS["batch_size"],
        help=f"pixels per step, or 'full' (default: {DEFAULTS['batch_size']})",
    )  # fmt: skip
    p.add_argument("--schedule", choices=("cosine", "constant"), default=DEFAULTS["schedule"], help="learning-rate schedule")
    p.add_argument("--holdout", type=float, default=0.0, help="fraction of pixels held out for validation")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--render-size", type=_size, default=None, help="also render at N or HxW (e.g. 1024x1024)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="write out/checkpoint.safetensors every K steps")
    p.add_argument("--resume", action="store_true", help="resume from out/checkpoint.safetensors if it exists")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "memorize",
        help="memorise a set of images with one conditioned field and write a report",
        description="Train one conditioned field on a folder of images or a bundled set (crops, digits, shapes) "
        "and write a report folder: field.safetensors, curves.png, snapshots.png, upsampling.png, "
        "pairs_similar.png, pairs_dissimilar.png, interpolation.png and metrics.json.",
    )
    p.add_argument("data", metavar="DATA", help="a folder of images, or crops | digits | shapes")
    p.add_argument("--out", required=True, type=Path, help="report folder (created)")
    p.add_argument("--conditioning", default="binary", help="index | binary | latent (default: binary)")
    p.add_argument("--n", type=int, default=None, help="number of images (default: 100; 16 with --quick)")
    p.add_argument("--size", type=int, default=None, help="full image size (default: 32)")
    p.add_argument("--factor", type=int, default=2, help="train at size/factor, render at size (default: 2)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=1, help="1 for grey, 3 for colour")
    p.add_argument("--base-width", type=int, default=32, help="width at --width-multiple 1 (default: 32)")
    p.add_argument("--width-multiple", type=int, default=1, help="width = base width x this (default: 1)")
    p.add_argument("--hidden-layers", type=int, default=3, help="sine layers (default: 3)")
    p.add_argument("--bottleneck", type=int, default=None, help="use a BottleneckSiren this many times narrower")
    p.add_argument("--latent-dim", type=int, default=32, help="code size of latent conditioning")
    p.add_argument("--latent-mode", choices=("concat", "film", "shift"), default="film", help="how latent codes condition")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: 2000; 300 with --quick)")
    p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction of each image's pixels")
    p.add_argument("--augment", action="store_true", help="flips, small rotations, crops and colour jitter")
    p.add_argument("--embedding-place", choices=("conditioning", "latent", "bottleneck", "last_hidden"),
                   default="last_hidden", help="where embeddings for the pair selection come from")  # fmt: skip
    p.add_argument("--metric", choices=("cosine", "euclidean", "dot"), default="cosine", help="similarity metric")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in a few minutes on 2 CPU cores")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_memorize)

    p = sub.add_parser(
        "train-prior",
        help="train a plain and a moment-matched autoencoder prior and compare their latent spaces",
        description="Train two autoencoders (plain, and with the latent moment-matched to the uniform "
        "distribution) on a folder of images or a bundled set and write a report folder: plain.safetensors, "
        "moment-matched.safetensors, loss.png, latents_<name>.png, probes.png, reconstructions.png, metrics.json.",
    )
    _image_set_arguments(p, 8, "number of images (default: all 1797 digits / 1000; 400 with --quick)", ", divisible by 4")
    p.add_argument("--latent-dim", type=int, default=8, help="latent size (default: 8)")
    p.add_argument("--width", type=int, default=None, help="channels of the first convolution (default: 32; 16 with --quick)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: 3000; 300 with --quick)")
    p.add_argument("--moment-weight", type=float, default=0.1, help="weight of the moment matching (default: 0.1)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="images held out of training (default: 0.2)")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in well under a minute on 2 CPU cores")
    p.set_defaults(func=_cmd_train_prior)

    p = sub.add_parser(
        "restore",
        help="denoise, inpaint or super-resolve held-out images with learned and classical priors",
        description="Corrupt held-out images (Gaussian noise; a hidden quarter; 2x downsampling), restore them "
        "with each method (the autoencoder priors of `train-prior`, total variation, a SIREN per image) and write "
        "a report folder: restorations.png, psnr_curves.png, lambda_selection.png, metrics.json. Without "
        "--priors, the priors are trained first (into OUT/priors).",
    )
    _image_set_arguments(p, 8, "number of images (must match the priors' report)")
    p.add_argument("--task", choices=("denoise", "inpaint", "superres"), required=True, help="the inverse problem")
    p.add_argument("--priors", type=Path, default=None, help="a train-prior report folder (default: train them)")
    p.add_argument("--sigma", type=float, default=None, help="noise level (default: 0.1 for denoise, 0.01 otherwise)")
    p.add_argument("--iterations", type=int, default=None, help="solver budget (default: 10000; 300 with --quick)")
    p.add_argument("--snapshots", type=str, default=None, help="comma-separated iterations to report (default: 1000,10000)")
    p.add_argument("--stop", choices=("discrepancy", "holdout", "budget"), default="discrepancy", help="early-stopping rule")
    p.add_argument("--methods", type=str, default="plain,moment-matched,tv,field", help="comma-separated methods")
    p.add_argument("--test", type=int, default=None, help="number of test images (default: 128; 16 with --quick)")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in about a minute on 2 CPU cores")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser(
        "hyper-train",
        help="train hypernetworks that emit SIREN weights from an image and compare them on held-out images",
        description="Train one HyperSiren (image -> SIREN weights) per head on a folder of images or a bundled "
        "set, with a fixed share of the images held out, and write a report folder: hyper.safetensors (the best "
        "head), curves.png, reconstructions.png, context.png (a set encoder from a fraction of the pixels), "
        "interpolation.png, samples.png, finetune.png (one-shot guess vs nf.fit from scratch vs fine-tuning the "
        "guess) and metrics.json.",
    )
    _image_set_arguments(p, 16, "number of images (default: all 1797 digits / 1000; 400 with --quick)", "; digits are 8x8 and get resized")
    p.add_argument("--heads", type=str, default="full,lowrank,film", help="comma-separated heads to compare (default: full,lowrank,film)")
    p.add_argument("--context-fractions", type=str, default=None, help="comma-separated fractions of context pixels (default: 0.1,0.25,1)")
    p.add_argument("--latent-dim", type=int, default=None, help="latent code size (default: 32)")
    p.add_argument("--steps", type=int, default=None, help="training steps of each hypernetwork (default: 4000; 600 with --quick)")
    p.add_argument("--finetune-steps", type=int, default=None, help="nf.fit steps per test image (default: 500; 200 with --quick)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="images held out of training (default: 0.2)")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in one to two minutes on 2 CPU cores")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cmd_hyper_train)

    p = sub.add_parser(
        "render",
        help="render a saved field at any resolution",
        description="Render a field saved as .safetensors to a PNG at any resolution.",
    )
    p.add_argument("file", type=Path, help="a .safetensors file written by neuralfields")
    p.add_argument("--size", type=_size, required=True, help="N or HxW, e.g. 1024x1024")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--chunk-size", type=int, default=65536, help="coordinates per forward pass")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser(
        "plugins",
        help="list installed plugins and what they registered",
        description="List the plugins found through the 'neuralfields.plugins' entry-point group.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_plugins)

    p = sub.add_parser(
        "samples", help="list the bundled sample images", description="List the sample images IMAGE|SAMPLE accepts."
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_samples)
    return parser


def _cmd_fit(args: argparse.Namespace) -> int:
    from . import data, io
    from ._json import finite
    from ._registry import spec_of
    from .fields import Siren, render
    from .training import fit, psnr, ssim

    image = data.load_image(args.image, size=args.size, channels=args.channels)
    c, h, w = image.shape
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    field = Siren(
        in_features=2,
        out_features=c,
        hidden_features=args.hidden_features,
        hidden_layers=args.hidden_layers,
        first_omega_0=args.first_omega_0,
        hidden_omega_0=args.hidden_omega_0,
        seed=args.seed,
    )
    print(f"fitting {args.image} ({c}x{h}x{w}) with {sum(p.numel() for p in field.parameters()):,} parameters")
    ckpt = out / "checkpoint.safetensors" if (args.checkpoint_every or args.resume) else None
    result = fit(
        field, image, steps=args.steps, lr=args.lr, batch_size=args.batch_size, schedule=args.schedule,
        holdout=args.holdout, seed=args.seed, checkpoint=ckpt, checkpoint_every=args.checkpoint_every,
        resume=args.resume, progress=not args.no_progress,
    )  # fmt: skip
    io.save(field, out / "field.safetensors", metadata={"source": str(args.image)})
    recon = render(field, (h, w))
    data.save_image(recon, out / "reconstruction.png")
    metrics: dict[str, Any] = {
        "source": str(args.image),
        "shape": [c, h, w],
        **result.summary(),
        "psnr_image": psnr(recon, image),
        "ssim_image": ssim(recon, image),
        "parameters": sum(p.numel() for p in field.parameters()),
        "field": spec_of(field),
        "recipe": {"lr": args.lr, "batch_size": args.batch_size, "schedule": args.schedule, "seed": args.seed},
        "history": result.history.as_dict(),
    }
    if args.render_size:
        t0 = time.perf_counter()
        hi = render(field, args.render_size)
        rh, rw = args.render_size
        data.save_image(hi, out / f"render_{rh}x{rw}.png")
        metrics["render"] = {"size": [rh, rw], "seconds": time.perf_counter() - t0}
    try:
        from .plots import plot_comparison, plot_history

        plot_history(result.history, out / "training_curve.png", title=str(args.image))
        plot_comparison([image, recon], ["target", "reconstruction"], out / "comparison.png", error_of=(0, 1))
    except OptionalDependencyError as exc:
        print(f"note: skipped the plots: {exc}", file=sys.stderr)
    io._atomic_write(out / "metrics.json", (json.dumps(finite(metrics), indent=2) + "\n").encode())
    print(
        f"PSNR {metrics['psnr_image']:.2f} dB, SSIM {metrics['ssim_image']:.4f} after {result.steps} steps "
        f"({result.seconds:.1f} s); wrote {out}/"
    )
    return 0


def _cmd_memorize(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .experiments import MemorizeConfig, memorize

    n = args.n or (16 if args.quick else 100)
    size = args.size or 32
    images = load_dataset(args.data, n=n, size=size, channels=args.channels, seed=args.seed)
    settings = {
        "conditioning": args.conditioning, "base_width": args.base_width, "width_multiple": args.width_multiple,
        "hidden_layers": args.hidden_layers, "bottleneck": args.bottleneck, "latent_dim": args.latent_dim,
        "latent_mode": args.latent_mode, "factor": args.factor, "holdout": args.holdout, "augment": args.augment,
        "embedding_place": args.embedding_place, "metric": args.metric, "seed": args.seed,
    }  # fmt: skip
    if args.steps is not None:
        settings["steps"] = args.steps
    config = MemorizeConfig.quick(**settings) if args.quick else MemorizeConfig(**settings)
    print(f"memorising {len(images)} images of {size}x{size} from {args.data} (trained at {size // args.factor})")
    m = memorize(images, args.out, config, progress=not args.no_progress)
    up = m.get("upsampling", {}).get("mean", {})
    line = f"train PSNR {m['psnr']:.2f} dB, held-out {m['val_psnr'] or float('nan'):.2f} dB"
    if up:
        line += f"; upsampled {up['field_psnr']:.2f} dB (bicubic {up['bicubic_psnr']:.2f})"
    print(f"{line}; wrote {args.out}/")
    return 0


def _prior_images(args: argparse.Namespace) -> tuple[Any, Any]:
    from .data import dataset_labels, load_dataset

    n = args.n or (400 if args.quick else (1797 if args.data == "digits" else 1000))
    images = load_dataset(args.data, n=n, size=args.size, seed=args.seed)
    return images, dataset_labels(args.data, n=images.shape[0])


def _cmd_train_prior(args: argparse.Namespace) -> int:
    from .experiments.priors import TrainPriorConfig, train_prior

    images, labels = _prior_images(args)
    settings: dict[str, Any] = {
        "latent_dim": args.latent_dim, "moment_weight": args.moment_weight, "test_fraction": args.test_fraction,
        "seed": args.seed,
    }  # fmt: skip
    if args.width is not None:
        settings["width"] = args.width
    if args.steps is not None:
        settings["steps"] = args.steps
    config = TrainPriorConfig.quick(**settings) if args.quick else TrainPriorConfig(**settings)
    print(f"training two autoencoders on {images.shape[0]} images of {args.size}x{args.size} from {args.data}")
    m = train_prior(images, args.out, config, labels=labels)
    for name, res in m["models"].items():
        t = res["test"]
        print(f"{name:15s} test reconstruction {t['reconstruction_psnr']:.2f} dB, KS to uniform {t['ks_mean']:.3f} "
              f"(max {t['ks_max']:.3f}), pair occupancy {t['pair_occupancy']:.2f}")  # fmt: skip
    print(f"wrote {args.out}/")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from .experiments.priors import RestoreConfig, TrainPriorConfig, load_priors, restore, train_prior

    images, labels = _prior_images(args)
    if args.priors is None:
        folder = args.out / "priors"
        print(f"training the priors first (into {folder})")
        prior_cfg = TrainPriorConfig.quick(seed=args.seed) if args.quick else TrainPriorConfig(seed=args.seed)
        train_prior(images, folder, prior_cfg, labels=labels)
    else:
        folder = args.priors
    priors, heldout = load_priors(folder)
    if heldout is not None and int(heldout.max()) >= images.shape[0]:
        raise ConfigError(f"the priors in {folder} were trained on more images than --n {images.shape[0]}; use the same --n")
    settings: dict[str, Any] = {
        "task": args.task, "seed": args.seed, "stop": args.stop,
        "sigma": args.sigma if args.sigma is not None else (0.1 if args.task == "denoise" else 0.01),
        "methods": _csv(args.methods, str, "--methods"),
    }  # fmt: skip
    if args.iterations is not None:
        settings["iterations"] = args.iterations
    if args.snapshots is not None:
        settings["snapshots"] = _csv(args.snapshots, int, "--snapshots")
    if args.test is not None:
        settings["test"] = args.test
    config = RestoreConfig.quick(**settings) if args.quick else RestoreConfig(**settings)
    m = restore(images, args.out, config, priors=priors, heldout=heldout, progress=not args.no_progress)
    print(f"{args.task} (sigma {config.sigma}): corrupted {m['corrupted_psnr']:.2f} dB")
    for name, r in m["methods"].items():
        at = ", ".join(f"@{k} {v:.2f}" for k, v in r["psnr_at"].items())
        print(f"  {name:15s} {at}, early stop {r['psnr_early_stop']:.2f} dB (iteration {r['early_stop']['mean_iteration']:.0f})")
    print(f"wrote {args.out}/")
    return 0


def _cmd_hyper_train(args: argparse.Namespace) -> int:
    from .experiments.hyper import HyperTrainConfig, hyper_train

    images, _ = _prior_images(args)
    settings: dict[str, Any] = {
        "size": args.size, "n": images.shape[0], "test_fraction": args.test_fraction, "seed": args.seed,
        "heads": _csv(args.heads, str, "--heads"),
    }  # fmt: skip
    if args.context_fractions is not None:
        settings["context_fractions"] = _csv(args.context_fractions, float, "--context-fractions")
    for name in ("latent_dim", "steps", "finetune_steps"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    config = HyperTrainConfig.quick(**settings) if args.quick else HyperTrainConfig(**settings)
    print(f"training HyperSirens ({', '.join(config.heads)} heads) on {images.shape[0]} images of {args.size}x{args.size} "
          f"from {args.data}, {config.test_fraction:.0%} held out")  # fmt: skip
    m = hyper_train(images, args.out, config, progress=not args.no_progress)
    for name, r in m["heads"].items():
        best = " (best, saved)" if name == m["best_head"] else ""
        print(f"  {name:8s} test PSNR {r['test_psnr']:.2f} dB (train {r['train_psnr']:.2f}), {r['parameters']:,} parameters, "
              f"{1000 * r['seconds_per_step']:.1f} ms/step{best}")  # fmt: skip
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


def _cmd_render(args: argparse.Namespace) -> int:
    from . import data, io
    from .fields import Field, render

    model = io.load(args.file)
    if not isinstance(model, Field):
        raise ConfigError(f"{args.file} holds a {type(model).__name__}, not a field that can be rendered")
    if model.in_features != 2 or model.out_features not in (1, 3, 4):
        raise ConfigError(
            f"only 2-D fields with 1, 3 or 4 channels render to PNG; {args.file} maps "
            f"{model.in_features}-D coordinates to {model.out_features} channels"
        )
    image = render(model, args.size, chunk_size=args.chunk_size)
    data.save_image(image, args.out)
    print(f"wrote {args.out} ({args.size[0]}x{args.size[1]})")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from . import _registry

    found = _registry.plugins()
    if args.json:
        print(json.dumps([p.as_dict() for p in found], indent=2))
        return 0
    if not found:
        print("no plugins installed (packages add them through the 'neuralfields.plugins' entry-point group)")
    for p in found:
        what = ", ".join(f"{k}:{n}" for k, n in p.registered) or "nothing"
        status = f"FAILED ({p.error})" if p.error else f"registered {what}"
        print(f"{p.name} ({p.distribution} {p.version}): {status}")
    return 0


def _cmd_samples(args: argparse.Namespace) -> int:
    from . import data

    names = data.sample_names()
    if args.json:
        print(json.dumps(names))
        return 0
    for name in names:
        print(f"{name:22s} {data.SAMPLES.get(name, 'procedural test image (always available)')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NeuralFieldsError as exc:
        print(f"neuralfields {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
