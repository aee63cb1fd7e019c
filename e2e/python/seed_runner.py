#!/usr/bin/env python3
"""Runs one of the seeds' worker scripts unchanged against qscale server.

The only change a user makes is the endpoint: AWS_ENDPOINT_URL_SQS. boto3
1.28 and later read it themselves; older ones (Debian's boto3 1.26) ignore
it, so for them, and only for them, this runner passes it as endpoint_url
to the sessions the script creates, which is what a user of that boto3
would write. Usage: seed_runner.py SCRIPT.
"""
import os
import runpy
import sys

import boto3
import boto3.session

endpoint = os.environ["AWS_ENDPOINT_URL_SQS"]
probe = boto3.session.Session(region_name="us-east-1").client("sqs")
if probe.meta.endpoint_url.rstrip("/") != endpoint.rstrip("/"):
    print("seed runner: boto3 %s ignores AWS_ENDPOINT_URL_SQS; passing endpoint_url=%s" % (boto3.__version__, endpoint),
          file=sys.stderr, flush=True)
    for method in ("resource", "client"):
        original = getattr(boto3.session.Session, method)

        def with_endpoint(self, service_name, *args, _original=original, **kwargs):
            if service_name == "sqs":
                kwargs.setdefault("endpoint_url", endpoint)
            return _original(self, service_name, *args, **kwargs)

        setattr(boto3.session.Session, method, with_endpoint)
else:
    print("seed runner: boto3 %s reads AWS_ENDPOINT_URL_SQS itself" % boto3.__version__, file=sys.stderr, flush=True)

sys.stdout.reconfigure(line_buffering=True)
runpy.run_path(sys.argv[1], run_name="__main__")
