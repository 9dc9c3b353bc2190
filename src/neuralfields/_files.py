"""Safe writes (a low module): every file neuralfields writes goes through :func:`atomic_write`.

- The data goes to a temporary file in the target's folder, is flushed to disk and renamed over the
  target: a crash, a kill or a full disk leaves the old file or the new one, never half of one.
- A write that fails removes its temporary file; temporaries left by writers that were killed (their
  process is gone) are swept by the next write to the same target.
- The target keeps its permissions; a new file gets the usual ones (``0o666`` less the umask).
- A symbolic link is written through: the file it points to is replaced, the link stays.
- A read-only target, a target that is a folder, and a folder that cannot be created or written are
  refused with an :class:`~neuralfields.errors.OutputError` that names the user's path.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError

__all__ = ["atomic_write", "atomic_stream", "check_output_file", "check_output_folder"]


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _resolve(path: Path) -> Path:
    """The file a write to ``path`` replaces: the target of a symbolic link (followed through chains)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (owned by someone else) or we cannot tell: leave its file alone
    return True


def _sweep(target: Path) -> None:
    """Remove temporaries of ``target`` whose writer process no longer exists."""
    prefix = f".{target.name}."
    try:
        names = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return
    for tmp in names:
        pid_text = tmp.name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            tmp.unlink(missing_ok=True)


def check_output_folder(folder: str | os.PathLike[str]) -> Path:
    """Check that ``folder`` can be created (if missing) and written to, before any long work; nothing is
    created (a failed command leaves no empty folder behind).

    Raises:
        OutputError: it (or an ancestor) is a file, or the nearest existing folder cannot be written to.
    """
    folder = Path(folder)
    existing = next(p for p in [folder, *folder.parents] if p.exists() or p == p.parent)
    if not existing.is_dir():
        what = "exists and is a file, not a folder" if existing == folder else f"cannot be created: {existing} is a file"
        raise OutputError(f"{folder} {what}; give another --out, or remove the file")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".write-check.{os.getpid()}.", suffix=".tmp", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to the folder {existing}: {_reason(exc)}") from None
    return folder


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Check, without writing anything, that :func:`atomic_write` can write ``path``; returns the file it
    would replace (a symbolic link's target).

    Raises:
        OutputError: ``path`` is a folder or a read-only file, or its folder is not a usable folder.
    """
    path = Path(path)
    target = _resolve(path)
    if target.is_dir():
        raise OutputError(f"{path} is a folder; give a file name such as {path / 'model.safetensors'}")
    if target.exists() and (not stat.S_IMODE(target.stat().st_mode) & 0o222 or not os.access(target, os.W_OK)):
        raise OutputError(f"{path} is read-only; make it writable (chmod u+w) or write to another file")
    parent = next((p for p in [target.parent, *target.parent.parents] if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise OutputError(f"cannot create the folder {target.parent} for {path}: {parent} is a file")
    return target


@contextmanager
def atomic_stream(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write a file piece by piece with the guarantees of :func:`atomic_write`: the pieces go to a temporary
    file that replaces ``path`` only when the ``with`` block ends without an error.

    Example:
        >>> import tempfile, os
        >>> with atomic_stream(os.path.join(tempfile.mkdtemp(), "rows.txt")) as fh:
        ...     _ = fh.write(b"row 1\\n")
        ...     _ = fh.write(b"row 2\\n")
    """
    path = Path(path)
    target = check_output_file(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {target.parent} for {path}: {_reason(exc)}") from None
    _sweep(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            mode = stat.S_IMODE(target.stat().st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask  # mkstemp makes owner-only files; use the usual permissions
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A crash, a kill or a full disk leaves either the old file or the new one, never half of it; parent
    folders are created; an existing file keeps its permissions; a symbolic link is written through.
    Every file neuralfields writes (models, checkpoints, images, reports) goes through it.

    Raises:
        OutputError: ``path`` is a folder or a read-only file, or its folder cannot be created or written
            (the message names ``path``, not the temporary file).

    Example:
        >>> import tempfile, os
        >>> p = atomic_write(os.path.join(tempfile.mkdtemp(), "a", "b.txt"), b"hello")
        >>> p.read_bytes()
        b'hello'
    """
    with atomic_stream(path) as fh:
        fh.write(data)
    return Path(path)
