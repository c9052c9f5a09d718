"""Source paths stay inside the allowed source roots, however they are spelled or linked.

``load_pipeline`` checks a source URI's text against ``AIRFLOW_MLOPS_SOURCE_ROOTS``, but the files
read can still lead elsewhere (``..``, a symlink at any depth, a glob matching a link). Each path
is resolved here (local disk: ``os.path.realpath``; object stores have no links, and a ``.`` or
``..`` segment is refused) and compared with the resolved roots before a byte is read.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from fsspec.implementations.local import LocalFileSystem

from airflow_mlops.core.foundation.errors import UnsafeSourceError

if TYPE_CHECKING:
    import fsspec


def _root_paths(fs: fsspec.AbstractFileSystem, roots: Iterable[str]) -> list[str]:
    """The roots reachable through ``fs``, as ``fs`` spells paths (resolved on local disk)."""
    local = isinstance(fs, LocalFileSystem)
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    out = []
    for root in roots:
        scheme = root.split("://", 1)[0] if "://" in root else "file"
        if scheme not in protocols and not (local and scheme in ("file", "local")):
            continue
        path = str(fs._strip_protocol(root)).rstrip("/")
        out.append(os.path.realpath(path) if local else path)
    return out


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check(fs: fsspec.AbstractFileSystem, path: str, roots: Sequence[str], label: str) -> None:
    """Refuse ``path`` (a path of ``fs``, a file or a glob's fixed part) unless it resolves inside
    one of ``roots``; ``label`` names it (never its content)."""
    allowed = _root_paths(fs, roots)
    if isinstance(fs, LocalFileSystem):
        resolved = os.path.realpath(path)
        how = f" (it resolves to {resolved})" if resolved != os.path.normpath(path) else ""
    else:
        if any(part in (".", "..") for part in path.split("/")):
            raise UnsafeSourceError(
                f"{label}: a '.' or '..' segment in an object store path is refused; "
                "nothing was read or copied"
            )
        resolved, how = posixpath.normpath(path), ""
    if not any(_inside(resolved, r) for r in allowed):
        raise UnsafeSourceError(
            f"{label}: outside the allowed source roots {list(roots)}{how}; refused before reading "
            "it, nothing was read or copied (AIRFLOW_MLOPS_SOURCE_ROOTS, comma-separated; default "
            "AIRFLOW_MLOPS_RAW_ROOT)"
        )


def fixed_part(path: str, glob_chars: str) -> str:
    """The folder of a glob before its first wildcard: checked before the pattern is expanded."""
    cut = min((path.index(c) for c in glob_chars if c in path), default=len(path))
    return path[:cut].rsplit("/", 1)[0] or "/"
