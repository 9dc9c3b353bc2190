"""Image folders (a low helper of :mod:`neuralfields.data`): a flat folder of images, or one subfolder per
class (``root/class_name/*.png``), listed in a fixed order."""

from __future__ import annotations

from pathlib import Path

from .errors import FileFormatError

__all__ = ["IMAGE_SUFFIXES", "list_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def list_images(folder: Path) -> tuple[list[Path], list[int] | None, list[str]]:
    """``(files, labels, class_names)`` of a folder: the images directly in it (``labels`` ``None``), or, when it
    holds none and has subfolders with images, every class folder's images (sorted by class, then by name)
    with their class index.

    Raises:
        FileFormatError: no images, or a class folder without images.
    """
    files = _images(folder)
    if files:
        return files, None, []
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise FileFormatError(f"no image files (.png, .jpg, ...) and no class folders in {folder}")
    out, labels = [], []
    for index, cls in enumerate(classes):
        found = _images(cls)
        if not found:
            raise FileFormatError(f"the class folder {cls} holds no image files; remove it or add images")
        out += found
        labels += [index] * len(found)
    return out, labels, [c.name for c in classes]
