"""Writing project files safely: one lock for data/nlu and domain.yml edits, atomic replacement, undo."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = Path("var/nlu.lock")  # var/ is gitignored


@contextmanager
def nlu_lock(root: Path) -> Iterator[None]:
    """Exclusive lock over data/nlu and domain.yml edits (threads and processes alike)."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomic(path: Path, content: str) -> None:
    """Replace `path` with `content` (UTF-8, as given) in one rename, keeping its mode; fsync file and folder."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def restore(path: Path, original: str | None) -> None:
    """Put back what `path` held (None: it did not exist)."""
    if original is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, original)
