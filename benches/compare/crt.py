#!/usr/bin/env python3
"""Drive aws-c-s3 (awscrt.s3.S3Client) at its default settings, like a user of the CRT would.

  crt.py put  ENDPOINT BUCKET KEY FILE          one object (aws-c-s3 splits it into parts)
  crt.py get  ENDPOINT BUCKET KEY FILE
  crt.py putdir ENDPOINT BUCKET PREFIX DIR      every file of DIR, all requests at once
  crt.py getdir ENDPOINT BUCKET PREFIX DIR NAMES  the keys PREFIX+NAME for each NAME in the file
                                                NAMES (no listing: aws-c-s3 has no ListObjects,
                                                so it is told the keys) into DIR

Every request is handed to the client at once; aws-c-s3 schedules them itself. Exits non-zero if
any request failed.

Keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; region us-east-1.
"""
import os
import sys
from urllib.parse import urlparse

from awscrt.auth import AwsCredentialsProvider
from awscrt.http import HttpHeaders, HttpRequest
from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType

REGION = "us-east-1"


def client(endpoint):
    elg = EventLoopGroup()
    bootstrap = ClientBootstrap(elg, DefaultHostResolver(elg))
    creds = AwsCredentialsProvider.new_static(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    tls = S3RequestTlsMode.ENABLED if urlparse(endpoint).scheme == "https" else S3RequestTlsMode.DISABLED
    return S3Client(bootstrap=bootstrap, region=REGION, credential_provider=creds, tls_mode=tls)


def request(c, endpoint, method, bucket, key, path):
    host = urlparse(endpoint).netloc
    headers = HttpHeaders([("Host", host)])
    if method == "PUT":
        headers.add("Content-Length", str(os.path.getsize(path)))
        headers.add("Content-Type", "application/octet-stream")
        return c.make_request(type=S3RequestType.PUT_OBJECT,
                              request=HttpRequest("PUT", f"/{bucket}/{key}", headers),
                              send_filepath=path)
    return c.make_request(type=S3RequestType.GET_OBJECT,
                          request=HttpRequest("GET", f"/{bucket}/{key}", headers),
                          recv_filepath=path)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    op, endpoint, bucket, key, path = sys.argv[1:6]
    c = client(endpoint)
    if op in ("put", "get"):
        jobs = [request(c, endpoint, op.upper(), bucket, key, path)]
    elif op == "putdir":
        jobs = [request(c, endpoint, "PUT", bucket, key + name, os.path.join(path, name))
                for name in sorted(os.listdir(path))]
    elif op == "getdir":
        with open(sys.argv[6]) as f:
            names = f.read().split()
        os.makedirs(path, exist_ok=True)
        jobs = [request(c, endpoint, "GET", bucket, key + name, os.path.join(path, name))
                for name in names]
    else:
        sys.exit(f"unknown op {op}")
    failed = 0
    for job in jobs:
        try:
            job.finished_future.result()
        except Exception as e:  # S3ResponseError and friends
            failed += 1
            if failed <= 5:
                print(f"request failed: {e!r}", file=sys.stderr)
    if failed:
        sys.exit(f"{failed} of {len(jobs)} requests failed")


if __name__ == "__main__":
    main()
