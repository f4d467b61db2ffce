"""The data lake on S3, MinIO or any S3 endpoint (dagster-aws's S3Resource for the client).

In its own module so that a deployment on local storage never imports boto3: the code location
loads faster, and only `HEALTH_TRAINING_STORAGE=s3` pays for it.
"""

from __future__ import annotations

from typing import Any

from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from health_training.resources.storage import BUCKET_ENV, Storage


class S3Storage(Storage):
    """An S3 bucket (or MinIO / any S3 endpoint via the S3 resource's endpoint_url)."""

    bucket: str = Field(description="Bucket that holds the data lake.")
    prefix: str = Field(default="", description="Key prefix inside the bucket, e.g. 'health/'.")
    s3: S3Resource
    _client: Any = PrivateAttr(default=None)

    def _c(self) -> Any:
        # Building a boto3 client costs ~0.3 s: one per resource instance, not per call.
        if self._client is None:
            if self.bucket == BUCKET_ENV:
                # An unresolved dg.EnvVar outside a run: S3 would answer NoSuchBucket later.
                raise ValueError(
                    f"the lake bucket is named '{BUCKET_ENV}', the variable rather than its "
                    "value: outside a Dagster run take the storage from "
                    "health_training.resources.storage_from_env(), which resolves it"
                )
            self._client = self.s3.get_client()
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix.rstrip('/')}/{key}" if self.prefix else key

    def read_bytes(self, key: str) -> bytes:
        client = self._c()
        try:
            return client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        # A single PUT is atomic in S3: the object appears whole or not at all.
        self._c().put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def list_keys(self, prefix: str) -> list[str]:
        paginator = self._c().get_paginator("list_objects_v2")
        strip = len(self._key(""))
        return sorted(
            obj["Key"][strip:]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for obj in page.get("Contents", [])
        )

    def exists(self, key: str) -> bool:
        client = self._c()
        try:
            client.head_object(Bucket=self.bucket, Key=self._key(key))
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._c().delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"
