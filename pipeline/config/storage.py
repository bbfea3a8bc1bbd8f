"""The forum config's `storage:` section: a local folder or an S3-compatible bucket.

Kept apart from pipeline.config.forum so the storage code and its settings read together; the
README's "Storage" section explains each choice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ChecksumWhen = Literal["when_required", "when_supported"]


class TransferSettings(_Strict):
    """Multipart uploads (boto3's TransferConfig); the defaults are measured by
    scripts/bench/upload.py (docs/benchmarks.md)."""

    multipart_threshold_mib: int = Field(default=64, ge=5, le=5120)
    part_size_mib: int = Field(default=16, ge=5, le=5120)  # S3's smallest part is 5 MiB
    max_concurrency: int = Field(default=8, ge=1, le=64)


class S3Storage(_Strict):
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    profile: str | None = None
    # Links: plain ones under this base (a CDN or a read-only origin in front of the
    # bucket), else presigned ones that expire after presign_expiry seconds (SigV4: 7 days).
    public_base_url: str | None = None
    presign_expiry: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    # boto3 >= 1.36 sends CRC32 checksums by default, which older MinIO, Ceph RGW and
    # other S3-compatible stores refuse; integrity is proven by `sort-archive verify`.
    request_checksum_calculation: ChecksumWhen = "when_required"
    response_checksum_validation: ChecksumWhen = "when_required"
    transfer: TransferSettings = Field(default_factory=TransferSettings)


class Storage(_Strict):
    local: Path | None = None
    s3: S3Storage | None = None
    # Where a web server serves the `local` folder (a bucket says s3.public_base_url): the
    # archive's public address, for sitemap.xml's absolute URLs. None: no sitemap.
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")

    @model_validator(mode="after")
    def _one_of(self) -> Storage:
        if (self.local is None) == (self.s3 is None):
            raise ValueError("give exactly one of 'local' (a folder) or 's3'")
        if self.s3 is not None and self.public_base_url is not None:
            raise ValueError("a bucket's public URL is s3.public_base_url")
        return self
