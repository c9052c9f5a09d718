"""The lake: every file a pipeline writes, under one root URI (file:// or s3://).

It only moves bytes (where they go is the catalog's business), through fsspec so local disk and S3
run the same code. Writes are atomic: a rename of a staged file, or one whole PUT.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from airflow_mlops.core.foundation import staging
from airflow_mlops.core.foundation.errors import DataNotFoundError, LakeWriteError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.parquet as pq


def _io_errors() -> tuple[type[Exception], ...]:
    """What a failed write raises: OSError and botocore's errors; nothing broader, so Airflow's own
    exceptions (a timeout, a termination) pass through unchanged."""
    try:
        from botocore.exceptions import BotoCoreError
    except ImportError:  # pragma: no cover - botocore comes with the Amazon provider
        return (OSError,)
    return (OSError, BotoCoreError)


def write_failed(uri: str, e: Exception) -> LakeWriteError:
    return LakeWriteError(
        f"{uri}: write to the lake failed ({type(e).__name__}: {e}); "
        "no partial file is left at that name, so a retry is safe"
    )


def write_synced(path: str, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` and wait until it is on disk, so a later rename
    never names content a crash could lose."""
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())


def _discard(tmp: str) -> None:
    """Remove a temporary file that was not renamed (gone already when it was)."""
    with suppress(FileNotFoundError):
        os.unlink(tmp)


def filesystem(
    uri: str, fs: fsspec.AbstractFileSystem | None = None
) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and protocol-less path of ``uri`` (``fs`` wins when given, e.g. from Airflow)."""
    if fs is not None:
        return fs, fs._strip_protocol(uri)
    fs_, path = fsspec.core.url_to_fs(uri)
    return fs_, path


@dataclass
class Lake:
    """A root URI plus the filesystem that reaches it; paths below are URIs."""

    root: str
    fs: fsspec.AbstractFileSystem = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.root = self.root.rstrip("/")
        if self.fs is None:
            self.fs, _ = filesystem(self.root)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def uri(self, *parts: str) -> str:
        return "/".join([self.root, *[p.strip("/") for p in parts if p]])

    def _p(self, uri: str) -> str:
        return str(self.fs._strip_protocol(uri))

    # --- reading -----------------------------------------------------------------------------
    def exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self._p(uri)))

    def read_bytes(self, uri: str) -> bytes:
        try:
            with self.fs.open(self._p(uri), "rb") as f:
                return bytes(f.read())
        except FileNotFoundError as e:
            raise DataNotFoundError(f"{uri}: no such file in the lake") from e

    def read_json(self, uri: str) -> Any:
        return json.loads(self.read_bytes(uri))

    def read_json_or_none(self, uri: str) -> Any:
        return self.read_json(uri) if self.exists(uri) else None

    def read_parquet(self, uri: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A Parquet file of the lake, only the ``columns`` asked for."""
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.read_bytes(uri)), columns=columns)

    @contextmanager
    def open_parquet(self, uri: str) -> Iterator[pq.ParquetFile]:
        """A Parquet file of the lake opened for reading in row groups or batches: memory bounded by
        what is read at a time, not by the file."""
        import pyarrow.parquet as pq

        try:
            f = self.fs.open(self._p(uri), "rb")
        except FileNotFoundError as e:
            raise DataNotFoundError(f"{uri}: no such file in the lake") from e
        with f, pq.ParquetFile(f) as pf:
            yield pf

    def listdir(self, uri: str) -> list[str]:
        """Names directly under ``uri`` (empty if it does not exist)."""
        path = self._p(uri)
        if not self.fs.exists(path):
            return []
        self.fs.invalidate_cache(path)
        return sorted(os.path.basename(str(p).rstrip("/")) for p in self.fs.ls(path, detail=False))

    # --- writing -----------------------------------------------------------------------------
    def write_bytes(self, uri: str, data: bytes) -> str:
        """Write atomically; returns ``uri``. A failure is a LakeWriteError naming ``uri`` (the
        libraries' errors name a temporary file, an endpoint, or nothing)."""
        try:
            self._write_bytes(uri, data)
        except _io_errors() as e:
            raise write_failed(uri, e) from e
        return uri

    def _write_bytes(self, uri: str, data: bytes) -> None:
        path = self._p(uri)
        if self.is_local:
            tmp = self._staged_copy(path, data)
            try:
                os.replace(tmp, path)
            finally:
                _discard(tmp)
        else:
            self.fs.pipe_file(path, data)
            self.fs.invalidate_cache(path.rsplit("/", 1)[0])

    def _staged_copy(self, path: str, data: bytes) -> str:
        """``data`` in a new staging file, on disk, and ``path``'s folder made: what is left is to
        give it its name (a rename, or a link that refuses an existing name)."""
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        os.makedirs(self.staging_dir, exist_ok=True)
        tmp = staging.new_name(self.staging_dir)
        try:
            write_synced(tmp, data)
        except BaseException:
            _discard(tmp)
            raise
        return tmp

    @property
    def staging_dir(self) -> str:
        """Where files are built before they are committed: the lake's ``.staging/`` on local disk (no
        half-built file ever sits in a partition), a temp folder for an object store."""
        if self.is_local:
            return f"{self._p(self.root)}/.staging"
        return os.path.join(tempfile.gettempdir(), "airflow-mlops-staging")

    def stage(self, uri: str | None = None) -> str:
        """A new empty local file to build ``uri``'s content in before :meth:`commit`; a killed
        writer's leftovers are swept first."""
        try:
            staging.sweep(self.staging_dir)
            return staging.new_file(self.staging_dir)
        except OSError as e:
            raise write_failed(uri or self.staging_dir, e) from e

    def commit(self, tmp: str, uri: str) -> str:
        """Make the finished local file ``tmp`` the content of ``uri``, whole: a rename, or one upload
        (a multipart upload is visible only when complete)."""
        path = self._p(uri)
        try:
            if self.is_local:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
                os.replace(tmp, path)
            else:
                self.fs.put_file(tmp, path)
                self.fs.invalidate_cache(path.rsplit("/", 1)[0])
        except _io_errors() as e:
            raise write_failed(uri, e) from e
        return uri

    @contextmanager
    def staged(self, uri: str) -> Iterator[str]:
        """A local path to write ``uri``'s content to, in pieces if need be; committed whole when
        the block ends, discarded if it raises."""
        tmp = self.stage(uri)
        try:
            yield tmp
            self.commit(tmp, uri)
        finally:
            _discard(tmp)

    def create_exclusive(self, uri: str, data: bytes) -> bool:
        """Write ``uri`` whole only if it does not exist yet; False if it does. A hard link locally,
        a PUT with ``If-None-Match: *`` on S3 and MinIO."""
        path = self._p(uri)
        parent = path.rsplit("/", 1)[0]
        if not self.is_local:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            self.fs.invalidate_cache(parent)
            return True
        tmp = self._staged_copy(path, data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            _discard(tmp)

    def write_json(self, uri: str, obj: Any) -> str:
        return self.write_bytes(uri, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def write_text(self, uri: str, text: str) -> str:
        return self.write_bytes(uri, text.encode())

    def write_parquet(self, uri: str, df: pd.DataFrame) -> str:
        """Write a frame as zstd Parquet, atomically; returns ``uri``."""
        buf = io.BytesIO()
        df.to_parquet(buf, index=False, compression="zstd")
        return self.write_bytes(uri, buf.getvalue())

    def remove(self, uri: str) -> None:
        path = self._p(uri)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def copy_dir_from_local(self, local_dir: str, uri: str) -> None:
        """Upload a local directory tree (e.g. GX data docs) file by file, each written atomically."""
        for dirpath, _dirs, files in os.walk(local_dir):
            rel = os.path.relpath(dirpath, local_dir)
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read()
                self.write_bytes("/".join(x for x in (uri, "" if rel == "." else rel, name) if x), data)
