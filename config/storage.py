"""Where product files live, read from the environment by config/settings.py.

Without AWS_STORAGE_BUCKET_NAME: the filesystem under MEDIA_ROOT, the embedded default of `make run` (full files
are served only to buyers through orders.delivery, previews under /media/previews/).

With it: any S3-compatible object storage (AWS S3, Cloudflare R2, MinIO) through django-storages. Two storages
share the credentials:

- ``default``: the full files buyers download. Written private (no public URL); the shop hands a buyer a presigned
  URL valid for minutes after its own checks.
- ``previews``: the catalog thumbnails. Written public-read with a year's Cache-Control (a new upload gets a new
  name, never overwriting an old one, so a cached copy is never stale); in the same bucket under previews/, or in
  AWS_PREVIEWS_BUCKET_NAME, optionally served through AWS_PREVIEWS_CUSTOM_DOMAIN (a CDN).

Services without object ACLs (R2, buckets with "ACLs disabled") refuse or ignore x-amz-acl: set AWS_S3_OBJECT_ACLS
off and make the previews' bucket (or prefix) public with a bucket policy instead.
"""

from urllib.parse import urlsplit

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from config.env import config_error, env_bool, env_int, env_str

PREVIEWS_CACHE_CONTROL = "public, max-age=31536000, immutable"
S3_BACKEND = "storages.backends.s3.S3Storage"
MB = 1024 * 1024


def storages_from_environment(*, media_root) -> dict:
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        filesystem = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": media_root}}
        return {"default": filesystem, "previews": filesystem}
    endpoint_url = env_str("AWS_S3_ENDPOINT_URL") or None
    if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
        raise config_error("AWS_S3_ENDPOINT_URL", "must start with https:// (or http:// for a local service)")
    object_acls = env_bool("AWS_S3_OBJECT_ACLS", True)
    addressing_style = env_str("AWS_S3_ADDRESSING_STYLE") or ("path" if endpoint_url else "virtual")
    if addressing_style not in {"path", "virtual", "auto"}:
        raise config_error("AWS_S3_ADDRESSING_STYLE", f"must be path, virtual or auto, got {addressing_style!r}")
    common = {
        "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "endpoint_url": endpoint_url,
        # Path-style URLs (https://endpoint/bucket/key) for S3-compatible services: MinIO needs them, and the
        # previews' origin for the CSP is then known from the endpoint alone.
        "addressing_style": addressing_style,
        "signature_version": "s3v4",
        # An upload with the name of an existing file gets a new name instead of replacing it: a buyer's file
        # never changes under an order, and public previews can be cached for a year.
        "file_overwrite": False,
        "transfer_config": _upload_in_parts(),
    }
    private = {**common, "bucket_name": bucket, "default_acl": "private" if object_acls else None,
               "querystring_auth": True,
               "querystring_expire": env_int("DOWNLOAD_URL_TTL", 5 * 60, minimum=10),
               "object_parameters": {"CacheControl": "private, no-store"}}
    public = {**common, "bucket_name": env_str("AWS_PREVIEWS_BUCKET_NAME") or bucket,
              "default_acl": "public-read" if object_acls else None, "querystring_auth": False,
              "custom_domain": env_str("AWS_PREVIEWS_CUSTOM_DOMAIN") or None,
              "object_parameters": {"CacheControl": PREVIEWS_CACHE_CONTROL}}
    return {"default": {"BACKEND": S3_BACKEND, "OPTIONS": private},
            "previews": {"BACKEND": S3_BACKEND, "OPTIONS": public}}


def _upload_in_parts():
    """Uploads go in parts of 8 MB, one after the other, read from Django's temporary file of the upload: an admin
    upload of any size holds about one part in memory (boto3's defaults read up to ten parts ahead, 80 MB)."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=1,
                            use_threads=False)
    config.max_in_memory_upload_chunks = 1
    return config


def is_object_storage(storages: dict) -> bool:
    return storages["default"]["BACKEND"] == S3_BACKEND


def previews_origins() -> list[str]:
    """Origins the catalog's <img> may load previews from (the CSP's img-src): none beyond the shop's own on the
    filesystem."""
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        return []
    domain = env_str("AWS_PREVIEWS_CUSTOM_DOMAIN")
    if domain:
        return [f"https://{domain}"]
    previews_bucket = env_str("AWS_PREVIEWS_BUCKET_NAME") or bucket
    endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
    if endpoint.netloc:
        origin = f"{endpoint.scheme}://{endpoint.netloc}"
        if env_str("AWS_S3_ADDRESSING_STYLE") == "virtual":
            origin = f"{endpoint.scheme}://{previews_bucket}.{endpoint.netloc}"
        return [origin]
    region = env_str("AWS_S3_REGION_NAME") or "us-east-1"
    return [f"https://{previews_bucket}.s3.amazonaws.com", f"https://{previews_bucket}.s3.{region}.amazonaws.com"]


class PreviewsStorage(LazyObject):
    """storages["previews"], looked up on first use (like Django's default_storage) so that the model can name it
    at import time and tests that change STORAGES see the change."""

    def _setup(self):
        from django.core.files.storage import storages

        self._wrapped = storages["previews"]


previews = PreviewsStorage()


def previews_storage():
    """The storage of Product.preview (a callable, so that migrations do not record the environment's choice)."""
    return previews


@receiver(setting_changed)
def _forget_previews_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        previews._wrapped = empty
