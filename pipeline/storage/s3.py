"""The S3 backend: AWS S3, NCP Object Storage, MinIO, Ceph RGW, through boto3.

Client settings that matter for these stores:

- Checksums `when_required` (the forum config can say `when_supported`): boto3
  >= 1.36 otherwise sends CRC32 checksums (headers, or aws-chunked trailers over
  HTTPS) that older MinIO, Ceph RGW and other stores refuse. Integrity is proven
  end to end instead: every object carries its sha256, and `sort-archive verify
  --deep` reads everything back.
- SigV4 for presigned links (newer AWS regions, Seoul included, accept nothing else).
- Multipart sizes from the config; an upload that fails is aborted so that no
  parts are left to be billed, and a publish first aborts what a killed run left.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from pipeline.config.forum import S3Storage
from pipeline.errors import PublishError
from pipeline.files import CHUNK
from pipeline.storage.backend import ObjectInfo, StoredItem, redact
from pipeline.storage.keys import check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MIB = 1024 * 1024
_STORAGE_ERRORS = (S3UploadFailedError, ClientError, BotoCoreError)


def transfer_config(cfg: S3Storage) -> TransferConfig:
    settings = cfg.transfer
    return TransferConfig(multipart_threshold=settings.multipart_threshold_mib * _MIB,
                          multipart_chunksize=settings.part_size_mib * _MIB,
                          max_concurrency=settings.max_concurrency,
                          preferred_transfer_client="classic")


def client_config(cfg: S3Storage) -> Config:
    return Config(
        s3={"addressing_style": cfg.addressing_style}, signature_version="s3v4",
        retries={"max_attempts": 5, "mode": "standard"},
        request_checksum_calculation=cfg.request_checksum_calculation,
        response_checksum_validation=cfg.response_checksum_validation,
        # One connection per upload thread, or the threads queue for connections.
        max_pool_connections=max(10, cfg.transfer.max_concurrency),
    )


class S3Backend:
    def __init__(self, cfg: S3Storage) -> None:
        self.cfg = cfg
        try:
            session = boto3.Session(profile_name=cfg.profile) if cfg.profile else boto3.Session()
        except ProfileNotFound:
            raise PublishError(f"AWS profile '{cfg.profile}' is not configured",
                               "add it to ~/.aws/config or fix storage.s3.profile in the "
                               "forum config") from None
        self.client: S3Client = session.client("s3", endpoint_url=cfg.endpoint_url,
                                               region_name=cfg.region,
                                               config=client_config(cfg))
        self.transfer = transfer_config(cfg)
        self.endpoint = redact(cfg.endpoint_url or self.client.meta.endpoint_url)
        self.where = f"s3://{cfg.bucket} at {self.endpoint}"
        # What is_current saw: an object whose bytes match but whose headers do not is
        # fixed with a server-side copy, not uploaded again.
        self._seen: dict[str, ObjectInfo] = {}

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.cfg.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, "reach") from exc

    def head(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.cfg.bucket, Key=check_key(key))
        except (ClientError, BotoCoreError) as exc:
            if _absent(exc):
                return None
            raise self._error(exc, f"read {key} in") from exc
        return ObjectInfo(size=head["ContentLength"], sha256=head["Metadata"].get("sha256"),
                          content_type=head.get("ContentType"),
                          cache_control=head.get("CacheControl"))

    def is_current(self, item: StoredItem) -> bool:
        info = self.head(item.key)
        if info is None:
            return False
        self._seen[item.key] = info
        return info == ObjectInfo(item.size, item.sha256, item.content_type, item.cache_control)

    def put(self, item: StoredItem, advance: Callable[[int], None]) -> None:
        check_key(item.key)
        extra = {"ContentType": item.content_type, "CacheControl": item.cache_control,
                 "Metadata": {"sha256": item.sha256}}
        seen = self._seen.get(item.key)
        try:
            if seen is not None and (seen.size, seen.sha256) == (item.size, item.sha256):
                self.client.copy({"Bucket": self.cfg.bucket, "Key": item.key}, self.cfg.bucket,
                                 item.key, ExtraArgs={**extra, "MetadataDirective": "REPLACE"},
                                 Config=self.transfer)
            elif item.path is not None:  # upload_file reads big clips in parallel parts
                self.client.upload_file(str(item.path), self.cfg.bucket, item.key,
                                        ExtraArgs=extra, Callback=advance, Config=self.transfer)
            else:
                with item.open() as source:
                    self.client.upload_fileobj(source, self.cfg.bucket, item.key,
                                               ExtraArgs=extra, Callback=advance,
                                               Config=self.transfer)
        except BaseException as exc:
            # s3transfer aborts its own multipart upload when a part fails, but that abort
            # is one more request that can fail too; make sure, then report.
            self._abort(item.key, exact=True)
            if isinstance(exc, OSError):
                raise PublishError(f"cannot read {item.path} while uploading it: "
                                   f"{exc.strerror or exc}",
                                   "run the earlier stages again to recreate it") from exc
            if isinstance(exc, _STORAGE_ERRORS):
                # boto3 wraps the service's ClientError without chaining it;
                # unwrap it so a denied or missing bucket gets its specific hint.
                cause = exc.__context__ if isinstance(exc, S3UploadFailedError) else exc
                raise self._error(cause if isinstance(cause, Exception) else exc,
                                  f"upload {item.key} to") from exc
            raise

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.cfg.bucket, Key=check_key(key))[
                "Body"].read()
        except (ClientError, BotoCoreError) as exc:
            if _absent(exc):
                return None
            raise self._error(exc, f"read {key} in") from exc

    def digest(self, key: str, advance: Callable[[int], None]) -> str | None:
        digest = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=self.cfg.bucket, Key=check_key(key))["Body"]
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
                advance(len(chunk))
        except (ClientError, BotoCoreError) as exc:
            if _absent(exc):
                return None
            raise self._error(exc, f"read {key} in") from exc
        return digest.hexdigest()

    def list(self, prefix: str) -> tuple[str, ...]:
        """The keys of every object under `prefix` (`a/b/`, or "" for all), in key order."""
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.cfg.bucket, Prefix=prefix)
            for page in pages:
                found += [entry["Key"] for entry in page.get("Contents", []) if "Key" in entry]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(exc, f"list {prefix or 'the objects'} in") from exc
        return tuple(sorted(found))

    def link(self, key: str, sha256: str | None = None) -> str:
        """A plain link under `public_base_url` (versioned with `?v=` when `sha256` is
        given), else a presigned GET that expires after `presign_expiry` seconds."""
        cfg = self.cfg
        if cfg.public_base_url:
            version = f"?v={sha256[:12]}" if sha256 else ""
            return f"{cfg.public_base_url.rstrip('/')}/{quote(check_key(key), safe='/')}{version}"
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": cfg.bucket, "Key": check_key(key)},
            ExpiresIn=cfg.presign_expiry)

    def sweep(self, root: str) -> int:
        """Abort the multipart uploads a killed run left under `root` (one writer per
        forum: the forum lock); the parts of an unfinished upload are billed forever."""
        return self._abort(f"{check_key(root)}/", exact=False)

    def _abort(self, prefix: str, *, exact: bool) -> int:
        aborted = 0
        # Best effort: without s3:ListBucketMultipartUploads the next publish tries again.
        with contextlib.suppress(ClientError, BotoCoreError):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.cfg.bucket, Prefix=prefix)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if exact and upload["Key"] != prefix:
                        continue
                    self.client.abort_multipart_upload(Bucket=self.cfg.bucket,
                                                       Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
                    aborted += 1
        return aborted

    def _error(self, exc: Exception, doing: str) -> PublishError:
        bucket, endpoint = self.cfg.bucket, self.endpoint
        if isinstance(exc, NoCredentialsError):
            return PublishError(f"no AWS credentials found for bucket '{bucket}'",
                                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                                "(or storage.s3.profile) naming a profile in ~/.aws/credentials")
        if isinstance(exc, EndpointConnectionError):
            return PublishError(f"cannot reach the storage endpoint {endpoint}",
                                "check storage.s3.endpoint_url, the network, and that the "
                                "storage server is up")
        code = _error_code(exc)
        if code in ("404", "NoSuchBucket"):
            return PublishError(f"bucket '{bucket}' does not exist at {endpoint}",
                                "create it or fix storage.s3.bucket in the forum config")
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return PublishError(f"access denied to bucket '{bucket}' at {endpoint} ({code})",
                                "check the credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE) and that "
                                "their policy allows s3:ListBucket, s3:GetObject, s3:PutObject")
        detail = redact(" ".join(str(exc).split()))
        return PublishError(f"could not {doing} bucket '{bucket}' at {endpoint}: {detail}")


def _error_code(exc: Exception) -> str:
    if not isinstance(exc, ClientError):
        return ""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _absent(exc: Exception) -> bool:
    return _error_code(exc) in ("404", "NoSuchKey")
