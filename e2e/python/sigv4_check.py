#!/usr/bin/env python3
"""Signs SQS calls with one access key against a qscale server that
verifies AWS Signature V4. Usage: sigv4_check.py ENDPOINT KEY_ID SECRET WANT,
where WANT is "ok" (the calls must succeed) or the error code every call
must fail with (SignatureDoesNotMatch, InvalidClientTokenId)."""
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key_id, secret, want = sys.argv[1:5]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id,
                   aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
print("boto3 %s, %s protocol, key %s, want %s" % (boto3.__version__, sqs.meta.service_model.protocol, key_id, want))

calls = [
    ("CreateQueue", lambda: sqs.create_queue(QueueName="signed")),
    ("ListQueues", lambda: sqs.list_queues()),
    # A body with characters that must be encoded the same way on both sides.
    ("SendMessage", lambda: sqs.send_message(QueueUrl=endpoint + "/000000000000/signed", MessageBody="a b+c=d&e/ü ✓ ~*'()",
                                             MessageAttributes={"k": {"DataType": "String", "StringValue": "v w"}})),
    ("ReceiveMessage", lambda: sqs.receive_message(QueueUrl=endpoint + "/000000000000/signed", WaitTimeSeconds=0)),
]
bad = 0
for name, call in calls:
    try:
        call()
        got = "ok"
    except ClientError as e:
        got = "%s (HTTP %d: %s)" % (e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"],
                                    (e.response["Error"].get("Message") or "").splitlines()[0])
    ok = got == want or got.startswith(want + " (HTTP 403")
    print("%s %s: %s" % ("ok  " if ok else "FAIL", name, got))
    bad += not ok
sys.exit(1 if bad else 0)
