"""An S3-compatible server for the tests: moto's server mode (a real HTTP server speaking S3's REST protocol) on a
free loopback port, started by the test run like the throw-away Redis of tests/faults. The shop talks to it
through django-storages and boto3 exactly as it would to AWS S3, R2 or MinIO.

moto keeps ACLs (an anonymous GET of a private object is refused) but does not check a presigned URL's signature
or expiry: the tests check those parameters on the URL itself."""

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from unittest import mock

import boto3
import requests
from botocore.config import Config
from django.conf import settings as django_settings

from config import storage
from tests.processes import free_port, wait_for

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


class MotoServer:
    def __init__(self, log_path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=30, what="moto server")

    def _up(self):
        try:
            return requests.get(f"{self.endpoint}/moto-api/", timeout=2).ok
        except requests.ConnectionError:
            assert self.process.poll() is None, "moto server exited"
            return False

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def new_bucket(self) -> str:
        name = f"shop-media-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def environment(self, bucket: str) -> dict[str, str]:
        """The variables an operator sets for object storage (README: Files on object storage)."""
        return {"AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": self.endpoint,
                "AWS_S3_REGION_NAME": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self._log.close()


@contextmanager
def object_storage_settings(settings, server: MotoServer, bucket: str):
    """The test's Django settings switched to object storage in ``bucket``, as config/settings.py would set them
    from the environment."""
    with mock.patch.dict(os.environ, server.environment(bucket)):
        settings.STORAGES = {**storage.storages_from_environment(media_root=django_settings.MEDIA_ROOT),
                             "staticfiles": django_settings.STORAGES["staticfiles"]}
        settings.MEDIA_ON_OBJECT_STORAGE = True
        yield
