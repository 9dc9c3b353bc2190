"""The ``neuralfields`` command: fit, fit-set, memorize, train-prior, restore, hyper-train, render, plugins, samples.

The commands are thin: each turns its arguments into the experiment's config object (defaults come from
those objects and choices from the registry) and calls the experiment in :mod:`neuralfields.experiments`.
Every report folder records its configuration in ``run.json``; ``neuralfields <command> --config
run.json --out DIR`` runs it again.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._cli_report import print_caveats
from ._cli_args import add_image_set_arguments, frequency, listing, pixels, positive, seed, shape, size, value_range
from ._cli_fit_set import add_fit_set_parser
from ._cli_generate import add_generate_parser
from ._cli_listing import plugins_command, samples_command
from ._cli_study import add_init_study_parser
from ._cli_torchrun import run_command
from ._files import check_output_folder
from .errors import ConfigError, NeuralFieldsError

__all__ = ["main", "build_parser"]


def _parser_for(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("--config", type=Path, default=None, metavar="RUN_JSON",
                   help="run again what a report folder's run.json records (its settings replace the others)")  # fmt: skip
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``neuralfields`` command."""
    from ._registry import available
    from ._task import SCHEDULES
    from .analysis import METRICS, PLACES
    from .conditioning import LATENT_MODES
    from .experiments import FitConfig, HyperTrainConfig, MemorizeConfig, RestoreConfig, TrainPriorConfig

    parser = argparse.ArgumentParser(prog="neuralfields", description="Neural fields (implicit neural representations) in PyTorch.")
    parser.add_argument("--version", action="version", version=f"neuralfields {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    fit = FitConfig()
    families = available("field")
    p = _parser_for(sub, "fit", "fit a field (a SIREN by default) to an image, audio or a volume and write the field, pictures and metrics",
                    "Fit a field to an image file or a bundled sample and write, under --out: field.safetensors, "
                    "reconstruction.png, comparison.png, training_curve.png, metrics.json and run.json (and "
                    "render_HxW.png with --render-size). A .wav file is fitted as audio (reconstruction.wav, "
                    "waveform.png), a .npy array as a signal of any dimension (reconstruction.npy; slices.png for a "
                    "volume, and mesh.obj and mesh.png with --mesh-level); their values keep their range and the "
                    "frequency is chosen from the signal's spectrum unless given.")  # fmt: skip
    p.add_argument("image", metavar="IMAGE|SAMPLE|WAV|NPY", nargs="?",
                   help="an image file, a sample name (see `neuralfields samples`), a .wav file or a .npy array")  # fmt: skip
    p.add_argument("--family", choices=families, default=fit.family, help=f"field family: {listing(families)} (default: {fit.family})")
    p.add_argument("--frequency", type=frequency, default=None,
                   help="the family's frequency setting (omega_0, scale or sigma), or 'auto' to choose it from the "
                        "spectrum (default: the family's own for images, auto for .wav and .npy)")  # fmt: skip
    p.add_argument("--value-range", type=value_range, default=None, metavar="LOW,HIGH",
                   help="the values' range for a .npy signal (default: its minimum and maximum; -1,1 for audio)")  # fmt: skip
    p.add_argument("--channels-first", action="store_true", help="the .npy array is (C, *spatial), not (*spatial)")
    p.add_argument("--mesh-level", type=float, default=None, help="a volume's surface level: also write mesh.obj and mesh.png")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--steps", type=positive, default=fit.steps, help=f"training steps (default: {fit.steps})")
    p.add_argument("--size", type=size, default=None, help="resize the image to N or HxW before fitting")
    p.add_argument("--channels", type=positive, choices=(1, 3), default=None, help="1 for grey, 3 for colour")
    p.add_argument("--hidden-features", type=positive, default=fit.hidden_features, help=f"width of the sine layers (default: {fit.hidden_features})")
    p.add_argument("--hidden-layers", type=positive, default=fit.hidden_layers, help=f"number of sine layers (default: {fit.hidden_layers})")
    p.add_argument("--first-omega-0", type=float, default=fit.first_omega_0, help=f"SIREN's first-layer omega_0 (default: {fit.first_omega_0:g}; --frequency replaces it)")
    p.add_argument("--hidden-omega-0", type=float, default=fit.hidden_omega_0, help=f"other layers' omega_0 (default: {fit.hidden_omega_0:g})")
    p.add_argument("--lr", type=float, default=fit.lr, help=f"learning rate (default: {fit.lr:g})")
    p.add_argument("--batch-size", type=pixels, default=fit.batch_size, help=f"pixels per step, or 'full' (default: {fit.batch_size})")
    p.add_argument("--schedule", choices=SCHEDULES, default=fit.schedule, help=f"learning-rate schedule (default: {fit.schedule})")
    p.add_argument("--holdout", type=float, default=fit.holdout, help="fraction of pixels held out for validation")
    p.add_argument("--seed", type=seed, default=fit.seed, help=f"random seed (default: {fit.seed})")
    p.add_argument("--render-size", type=size, default=None, help="also render at N or HxW (e.g. 1024x1024)")
    p.add_argument("--checkpoint-every", type=positive, default=None, help="write out/checkpoint.safetensors every K steps")
    p.add_argument("--resume", action="store_true", help="resume from out/checkpoint.safetensors if it exists")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_fit)

    mem, quick = MemorizeConfig(), MemorizeConfig.quick()
    conditionings = available("conditioning")
    p = _parser_for(sub, "memorize", "memorise a set of images with one conditioned field and write a report",
                    "Train one conditioned field on a folder of images or a bundled set (crops, digits, shapes) and "
                    "write a report folder: field.safetensors, curves.png, snapshots.png, upsampling.png, "
                    "pairs_similar.png, pairs_dissimilar.png, interpolation.png, metrics.json and run.json.")  # fmt: skip
    p.add_argument("data", metavar="DATA", nargs="?", help="a folder of images, or crops | digits | shapes")
    p.add_argument("--out", required=True, type=Path, help="report folder (created)")
    p.add_argument("--conditioning", choices=conditionings, default=mem.conditioning,
                   help=f"registered conditioning: {listing(conditionings)} (default: {mem.conditioning})")  # fmt: skip
    p.add_argument("--n", "--num-images", dest="n", type=positive, default=None,
                   help="number of images (default: 100; 16 with --quick; --num-images under torchrun)")
    p.add_argument("--size", type=positive, default=32, help="full image size (default: 32)")
    p.add_argument("--factor", type=positive, default=mem.factor, help=f"train at size/factor, render at size (default: {mem.factor})")
    p.add_argument("--channels", type=positive, choices=(1, 3), default=1, help="1 for grey, 3 for colour")
    p.add_argument("--base-width", type=positive, default=mem.base_width, help=f"width at --width-multiple 1 (default: {mem.base_width})")
    p.add_argument("--width-multiple", type=positive, default=mem.width_multiple, help="width = base width x this (default: 1)")
    p.add_argument("--hidden-layers", type=positive, default=mem.hidden_layers, help=f"sine layers (default: {mem.hidden_layers})")
    p.add_argument("--bottleneck", type=positive, default=None, help="use a BottleneckSiren this many times narrower")
    p.add_argument("--latent-dim", type=positive, default=mem.latent_dim, help=f"code size of latent conditioning (default: {mem.latent_dim})")
    p.add_argument("--latent-mode", choices=LATENT_MODES, default=mem.latent_mode, help="how latent codes condition")
    p.add_argument("--steps", type=positive, default=None, help=f"training steps (default: {mem.steps}; {quick.steps} with --quick)")
    p.add_argument("--holdout", type=float, default=mem.holdout, help="held-out fraction of each image's pixels")
    p.add_argument("--augment", action="store_true", help="flips, small rotations, crops and colour jitter")
    p.add_argument("--embedding-place", choices=PLACES, default=mem.embedding_place, help="where embeddings for the pair selection come from")
    p.add_argument("--metric", choices=METRICS, default=mem.metric, help="similarity metric")
    p.add_argument("--seed", type=seed, default=mem.seed, help="random seed")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in a few minutes on 2 CPU cores")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_memorize)

    tp, tq = TrainPriorConfig(), TrainPriorConfig.quick()
    p = _parser_for(sub, "train-prior", "train a plain and a moment-matched autoencoder prior and compare their latent spaces",
                    "Train two autoencoders (plain, and with the latent moment-matched to the uniform distribution) on a "
                    "folder of images or a bundled set and write a report folder: plain.safetensors, "
                    "moment-matched.safetensors, loss.png, latents_<name>.png, probes.png, reconstructions.png, "
                    "metrics.json and run.json. With DATA `patches` (8x8 patches of natural images by default) they are patch "
                    "priors that restore images of any size. The summary flags an undertrained (loss still falling) or "
                    "overfitting (held-out far below train) model.")  # fmt: skip
    add_image_set_arguments(p, 8, "number of images (default: all 1797 digits / 20000 patches / 1000; 400 digits / 5000 "
                            "patches with --quick)", ", divisible by 4")  # fmt: skip
    p.add_argument("--latent-dim", type=positive, default=tp.latent_dim, help=f"latent size (default: {tp.latent_dim})")
    p.add_argument("--width", type=positive, default=None, help=f"channels of the first convolution (default: {tp.width}; {tq.width} with --quick)")
    p.add_argument("--steps", type=positive, default=None, help=f"training steps (default: {tp.steps}; at most {tq.steps} with --quick)")
    p.add_argument("--moment-weight", type=float, default=tp.moment_weight, help=f"weight of the moment matching (default: {tp.moment_weight:g})")
    p.add_argument("--test-fraction", type=float, default=tp.test_fraction, help=f"images held out of training (default: {tp.test_fraction:g})")
    p.add_argument("--quick", action="store_true", help="narrower autoencoders trained until the loss stops falling (a "
                   f"plateau over {tq.plateau_window} steps, at most {tq.steps}): about half a minute on 2 CPU cores")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cmd_train_prior)

    rc, rq = RestoreConfig(), RestoreConfig.quick()
    rules = available("stopping") or ["discrepancy", "holdout", "budget"]
    p = _parser_for(sub, "restore", "denoise, inpaint or super-resolve held-out images with learned and classical priors",
                    "Corrupt held-out images (Gaussian noise; a hidden quarter; 2x downsampling), restore them with each "
                    "method (the autoencoder priors of `train-prior`, total variation, a SIREN per image) and write a "
                    "report folder: restorations.png, psnr_curves.png, lambda_selection.png, metrics.json, run.json. "
                    "Each prior's weight is chosen per image from the measurements (lam=auto); the report shows each "
                    "rule's result next to the best in hindsight. Without --priors, the priors are trained first (into "
                    "OUT/priors). Patch priors (train-prior patches) restore images of any size.")  # fmt: skip
    add_image_set_arguments(p, 8, "number of images (must match the priors' report)")
    p.add_argument("--task", choices=("denoise", "inpaint", "superres"), default=None, help="the inverse problem (required without --config)")
    p.add_argument("--priors", type=Path, default=None, help="a train-prior report folder (default: train them)")
    p.add_argument("--sigma", type=float, default=None, help="noise level (default: 0.1 for denoise, 0.01 otherwise)")
    p.add_argument("--iterations", type=positive, default=None, help=f"solver budget (default: {rc.iterations}; {rq.iterations} with --quick)")
    p.add_argument("--snapshots", type=str, default=None, help=f"comma-separated iterations to report (default: {','.join(map(str, rc.snapshots))})")
    p.add_argument("--stop", choices=rules, default=rc.stop, help=f"early-stopping rule: {listing(rules)} (default: each "
                   "solver's own: budget for the priors and tv, discrepancy for the field)")  # fmt: skip
    p.add_argument("--methods", type=str, default=",".join(rc.methods), help="comma-separated methods")
    p.add_argument("--test", type=positive, default=None, help=f"number of test images (default: {rc.test}; {rq.test} with --quick)")
    p.add_argument("--quick", action="store_true", help="300 iterations, 16 test images: under a minute on 2 CPU cores for 8x8 digits (larger images take longer)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cmd_restore)

    hc, hq = HyperTrainConfig(), HyperTrainConfig.quick()
    heads = available("hyper-head") or list(hc.heads)
    p = _parser_for(sub, "hyper-train", "train hypernetworks that emit SIREN weights from an image and compare them on held-out images",
                    "Train one HyperSiren (image -> SIREN weights) per head on a folder of images or a bundled set, with a "
                    "fixed share of the images held out, and write a report folder: hyper.safetensors (the best head), "
                    "curves.png, reconstructions.png, context.png (a set encoder from a fraction of the pixels), "
                    "interpolation.png, samples.png, finetune.png (one-shot guess vs nf.fit from scratch vs fine-tuning "
                    "the guess), metrics.json and run.json.")  # fmt: skip
    add_image_set_arguments(p, hc.size, "number of images (default: all 1797 digits / 1000; 400 with --quick)", "; digits are 8x8 and get resized")
    p.add_argument("--heads", type=str, default=",".join(hc.heads), help=f"comma-separated registered heads: {listing(heads)} (default: {','.join(hc.heads)})")
    p.add_argument("--context-fractions", type=str, default=None, help=f"comma-separated fractions of context pixels (default: {','.join(f'{f:g}' for f in hc.context_fractions)})")
    p.add_argument("--latent-dim", type=positive, default=None, help=f"latent code size (default: {hc.latent_dim})")
    p.add_argument("--steps", type=positive, default=None, help=f"training steps of each hypernetwork (default: {hc.steps}; {hq.steps} with --quick)")
    p.add_argument("--finetune-steps", type=positive, default=None, help=f"nf.fit steps per test image (default: {hc.finetune_steps}; {hq.finetune_steps} with --quick)")
    p.add_argument("--test-fraction", type=float, default=hc.test_fraction, help=f"images held out of training (default: {hc.test_fraction:g})")
    p.add_argument("--quick", action="store_true", help="a preset that finishes in one to two minutes on 2 CPU cores")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cmd_hyper_train)

    p = _parser_for(sub, "init-study", "compare initialisations (paper, weight scaling, pre-fit, meta-learned, shared encoder) across model sizes",
                    "Fit image A of (A, B, C) triples (B of A's class, C of another) from every initialisation over a grid "
                    "of SIREN sizes and write a report folder: curves.png (PSNR on A per step, mean and spread), auc.png "
                    "(capped AUC per triple as box plots, sizes ordered by parameter count), metrics.json (also the "
                    "crossover step against the paper init and the steps and seconds to --level dB) and run.json. DATA "
                    "needs classes: digits, crops, or a folder laid out as root/class_name/*.png.")  # fmt: skip
    add_init_study_parser(p)
    p.set_defaults(func=_cmd_init_study)

    p = _parser_for(sub, "fit-set", "fit one field per image of a set and write them as sharded .safetensors files plus an index",
                    "Fit one SIREN per image in batched groups (nf.fit_many) and write OUT/shards/group-NNNNN.safetensors "
                    "plus OUT/index.json (each image's shard, final PSNR, steps) and run.json; read them back with "
                    "neuralfields.experiments.FieldSet. Run the same command again after a crash or kill: it fits only "
                    "the groups the index does not name.")  # fmt: skip
    add_fit_set_parser(p)
    p.set_defaults(func=_cmd_fit_set)
    p = _parser_for(sub, "generate", "generate new images as fields (adversarially and from priors over codes) and judge them",
                    "Train an adversarial field generator and a HyperSiren with priors over its codes on a labelled image set, "
                    "judge their samples with a classifier trained on the set (Fréchet distance, classes covered, "
                    "nearest-neighbour distance) and write a report folder: samples.png, samples_4x.png, interpolation.png, "
                    "curves.png, frechet.png, the models and metrics.json. DATA needs classes: digits, crops or class folders.")  # fmt: skip
    add_generate_parser(p)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("render", help="render a saved field at any resolution",
                       description="Render a field saved as .safetensors to a PNG, a .npy array or (a 1-D field) a .wav "
                       "file at any resolution, in bounded memory: a PNG is computed and written band by band. A field "
                       "that `neuralfields fit` made from a .wav or .npy file renders on its signal's value range.")  # fmt: skip
    p.add_argument("file", type=Path, help="a .safetensors file written by neuralfields")
    p.add_argument("--size", type=shape, required=True, help="N (every axis) or sizes joined by x: 1024x1024, 64x64x64, 44100")
    p.add_argument("--out", type=Path, required=True, help="PNG file to write (.npy for float values of any dimension, .wav for audio)")
    p.add_argument("--sample-rate", type=positive, default=None, help="samples per second of a .wav (default: the rate that keeps the fitted clip's duration)")
    p.add_argument("--chunk-size", type=positive, default=65536, help="coordinates per forward pass (default: 65536)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("plugins", help="list installed plugins and what they registered",
                       description="List the plugins found through the 'neuralfields.plugins' entry-point group.")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=plugins_command)

    p = sub.add_parser("samples", help="list the bundled sample images", description="List the sample images IMAGE|SAMPLE accepts.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=samples_command)
    return parser


def _recorded(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(config, data)`` of ``--config RUN_JSON``, or ``None`` without it."""
    if getattr(args, "config", None) is None:
        return None
    from .experiments._report import read_run

    return read_run(args.config, args.command)


def _need(value: Any, what: str, command: str) -> Any:
    if value is None:
        raise ConfigError(f"give {what}, or --config RUN_JSON to run a recorded report again (see `neuralfields {command} --help`)")
    return value


def _cmd_fit(args: argparse.Namespace) -> int:
    from . import data
    from .experiments import FitConfig, fit_image
    from .experiments._report import config_from

    recorded = _recorded(args)
    if recorded is not None:
        cfg, source = config_from(FitConfig, recorded[0]), recorded[1]
    else:
        cfg = FitConfig(
            steps=args.steps, hidden_features=args.hidden_features, hidden_layers=args.hidden_layers,
            first_omega_0=args.first_omega_0, hidden_omega_0=args.hidden_omega_0, lr=args.lr,
            batch_size=args.batch_size, schedule=args.schedule, holdout=args.holdout, seed=args.seed,
            render_size=args.render_size, checkpoint_every=args.checkpoint_every, resume=args.resume, family=args.family,
            frequency=args.frequency, value_range=args.value_range, mesh_level=args.mesh_level,
        )  # fmt: skip
        source = {"image": _need(args.image, "an IMAGE or SAMPLE", "fit"), "size": args.size, "channels": args.channels}
        if args.channels_first:
            source["channels_first"] = True
    suffix = Path(str(source["image"])).suffix.lower()
    if suffix in (".wav", ".npy"):
        from ._cli_signal import fit_signal_command

        return fit_signal_command(args, cfg, source, suffix, recorded is not None)
    image = data.load_image(source["image"], size=source.get("size"), channels=source.get("channels"))
    c, h, w = image.shape
    print(f"fitting {source['image']} ({c}x{h}x{w})")
    m = fit_image(image, args.out, cfg, source=str(source["image"]), data=source, progress=not args.no_progress)
    held = f", held-out {m['val_psnr']:.2f} dB" if m.get("val_psnr") is not None else ""
    print(f"PSNR {m['psnr_image']:.2f} dB{held}, SSIM {m['ssim_image']:.4f} after {m['steps']} steps ({m['seconds']:.1f} s); "
          f"wrote {args.out}/")  # fmt: skip
    print_caveats(m)
    return 0


def _image_set(args: argparse.Namespace, recorded: Any, default_n: int) -> tuple[Any, Any, dict[str, Any]]:
    """The images, their labels and the data record of a command over an image set."""
    from .data import dataset_labels, load_dataset

    if recorded is not None:
        source = dict(recorded[1])
    else:
        n = default_n if args.n is None else args.n
        source = {"data": _need(args.data, "DATA (a folder or a bundled set)", args.command), "n": n, "size": args.size, "seed": args.seed}
        if getattr(args, "channels", None) is not None:
            source["channels"] = args.channels
    kwargs = {k: source[k] for k in ("n", "size", "channels", "seed") if k in source}
    images = load_dataset(source["data"], **kwargs)
    return images, dataset_labels(source["data"], n=images.shape[0]), source


def _cmd_memorize(args: argparse.Namespace) -> int:
    from ._cli_report import memorize_command

    recorded = _recorded(args)
    return memorize_command(args, recorded, _image_set(args, recorded, 16 if args.quick else 100))


def _default_n(args: argparse.Namespace) -> int:
    if args.data == "patches":
        return 5000 if args.quick else 20000
    return 400 if args.quick else (1797 if args.data in (None, "digits") else 1000)


def _cmd_train_prior(args: argparse.Namespace) -> int:
    from ._cli_report import train_prior_command

    return train_prior_command(args, _recorded(args), _image_set(args, _recorded(args), _default_n(args)))


def _cmd_restore(args: argparse.Namespace) -> int:
    from ._cli_report import restore_command

    recorded = _recorded(args)
    if recorded is None:
        _need(args.task, "--task", "restore")
    return restore_command(args, recorded, _image_set(args, recorded, _default_n(args)))


def _cmd_hyper_train(args: argparse.Namespace) -> int:
    from ._cli_report import hyper_train_command

    return hyper_train_command(args, _recorded(args), _image_set(args, _recorded(args), _default_n(args)))


def _cmd_fit_set(args: argparse.Namespace) -> int:
    from ._cli_fit_set import DEFAULT_N, fit_set_command

    recorded = _recorded(args)
    return fit_set_command(args, recorded, _image_set(args, recorded, DEFAULT_N[1] if args.quick else DEFAULT_N[0]))


def _cmd_generate(args: argparse.Namespace) -> int:
    from ._cli_generate import DEFAULT_N, generate_command

    recorded = _recorded(args)
    return generate_command(args, recorded, _image_set(args, recorded, DEFAULT_N[1] if args.quick else DEFAULT_N[0]))


def _cmd_init_study(args: argparse.Namespace) -> int:
    from ._cli_study import init_study_command

    recorded = _recorded(args)
    return init_study_command(args, recorded, _image_set(args, recorded, 200 if args.quick else 500))


def _cmd_render(args: argparse.Namespace) -> int:
    from ._cli_signal import render_command

    return render_command(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Expected failures (bad input, unusable files and folders) print one line and return 1; ``--debug``
    shows the traceback instead.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "out", None) is not None and args.command != "render":
            check_output_folder(args.out)  # before any training: a report folder that cannot be written
        with warnings.catch_warnings():
            if not args.debug:  # one line per warning, not a source line of the console script
                warnings.showwarning = lambda message, *_, **__: print(
                    f"neuralfields {args.command}: warning: {message}", file=sys.stderr
                )  # fmt: skip
            return run_command(args)
    except (NeuralFieldsError, OSError) as exc:
        if args.debug:
            raise
        what = str(exc) if isinstance(exc, NeuralFieldsError) else f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        print(f"neuralfields {args.command}: error: {what} (--debug shows the traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
