"""Stored files' bytes in an S3-compatible object store (MinIO, S3), when a setting names one.

``OCCLAB_OBJECT_STORE=s3://bucket/prefix`` (and ``OCCLAB_S3_ENDPOINT`` for MinIO) moves the
bytes out of the database; ``shared.papers.storage`` keeps the file's row (team, token,
name, size, hash) in SQL either way, with the object's URL. Uploads stream in parts
(boto3's managed transfer: a few MiB of memory whatever the size); reads stream in 1 MiB
pieces. boto3 is imported only here, when a store is configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Any
from urllib.parse import urlparse

from shared.config import Settings
from shared.papers.records import FileError

PIECE = 1 << 20


class ObjectStore:
    def __init__(self, url: str, endpoint: str = "") -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"OCCLAB_OBJECT_STORE must be s3://bucket/prefix, not {url!r}")
        import boto3

        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint or None)
        self._bucket_ready = False

    def put(self, name: str, stream: IO[bytes], max_bytes: int, label: str) -> tuple[str, int, str]:
        """Upload ``stream`` as object ``name`` (under the prefix): its s3:// URL, size and
        sha256. Past ``max_bytes`` raises ``FileError`` (naming ``label``), no object kept."""
        self._ensure_bucket()
        key = f"{self.prefix}/{name}" if self.prefix else name
        counted = _Counted(stream, max_bytes, label)
        self.client.upload_fileobj(counted, self.bucket, key)
        return f"s3://{self.bucket}/{key}", counted.size, counted.digest.hexdigest()

    def pieces(self, url: str) -> Iterator[bytes]:
        bucket, key = _split(url)
        body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(PIECE)
        finally:
            body.close()

    def delete(self, url: str) -> None:
        bucket, key = _split(url)
        self.client.delete_object(Bucket=bucket, Key=key)

    def _ensure_bucket(self) -> None:
        """Create the bucket on first use (a fresh MinIO has none)."""
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)
        self._bucket_ready = True


class _Counted:
    """A readable that counts and hashes what passes, and stops past the limit."""

    def __init__(self, stream: IO[bytes], max_bytes: int, name: str) -> None:
        self.stream, self.max_bytes, self.name = stream, max_bytes, name
        self.size, self.digest = 0, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        piece = self.stream.read(n)
        self.size += len(piece)
        if self.size > self.max_bytes:
            raise FileError(f"{self.name} is over the limit of {self.max_bytes:,} bytes: split it")
        self.digest.update(piece)
        return piece


def _split(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


@lru_cache(maxsize=4)
def _store(url: str, endpoint: str) -> ObjectStore:
    return ObjectStore(url, endpoint)


def object_store(settings: Settings) -> ObjectStore | None:
    """The configured store (one client per process), or None: bytes go to the database."""
    return _store(settings.object_store, settings.s3_endpoint) if settings.object_store else None
