"""Fingerprints of the project files a component reads outside the training data.

Rasa reuses a trained component when its config and training data are unchanged; a component that also
reads files (dictionaries, patterns, replacement tables) adds their hash, so editing them retrains it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def files_fingerprint(*directories: str | Path) -> str:
    """A hash of the names and contents of every file under the given directories (missing ones count)."""
    digest = hashlib.sha256()
    for directory in map(Path, directories):
        digest.update(str(directory).encode())
        if not directory.is_dir():
            digest.update(b"<missing>")
            continue
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
