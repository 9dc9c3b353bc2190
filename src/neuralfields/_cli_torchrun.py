"""The command line under ``torchrun``: ``fit-set`` shares its groups out, the commands that train one
shared model (``memorize``, ``train-prior``, ``hyper-train``) train it data-parallel, and the others,
which would only repeat the same work in every process, refuse with a clear message."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import tempfile
import warnings

from .errors import ConfigError

__all__ = ["DATA_PARALLEL_COMMANDS", "run_command"]

DATA_PARALLEL_COMMANDS = ("memorize", "train-prior", "hyper-train")
"""Commands that train a shared model data-parallel under ``torchrun``."""


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command: as it is in one process; under ``torchrun`` as described above.

    Under ``torchrun`` every process trains, rank 0 alone writes the report to ``--out`` and prints; the
    other processes write theirs to a scratch folder that is removed.

    Example:
        >>> run_command(argparse.Namespace(command="samples", func=lambda args: 0))
        0
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or args.command == "fit-set":
        return int(args.func(args))
    if args.command not in DATA_PARALLEL_COMMANDS:
        raise ConfigError(
            f"{args.command} runs in one process; under torchrun use fit-set or one of {', '.join(DATA_PARALLEL_COMMANDS)}"
        )
    from ._dist import end_group, init_from_env, is_main

    started, clean = init_from_env(), False
    scratch = None
    try:
        if is_main():
            status = int(args.func(args))
        else:
            scratch = tempfile.mkdtemp(prefix="neuralfields-rank-")
            args.out, args.no_progress = scratch, True
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rank 0 shows them
                status = int(args.func(args))
        clean = True
        return status
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        end_group(started, clean)
