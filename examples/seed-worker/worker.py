#!/usr/bin/env python3
"""The seeds' "receive and delete" worker (seeds 000 and 001), written for
any SQS endpoint: qscale's server or Amazon SQS.

    AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9324 python3 worker.py QUEUE_URL

Differences from the seeds' loops, each a fix:
- long polling (WaitTimeSeconds=20) instead of receive + time.sleep(0.2): an
  empty queue costs one request per 20 s, a new message is taken at once;
- the queue URL is looked up once, not on every loop;
- delete_message_batch: one call per ten messages;
- a message is deleted only after it was processed, and a failure leaves it
  for a retry (and the dead-letter queue after maxReceiveCount);
- SIGTERM stops receiving and finishes the batch in hand.

`qscale worker` does all this and more (heartbeats, concurrency, graceful
release, busy/idle status) around any command; see docs/worker.md.
"""
import os
import signal
import sys

import boto3

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


def process(message):
    print("Activating MessageId: {0}".format(message["MessageId"]), flush=True)
    print("Message received: {0}".format(message["Body"]), flush=True)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: worker.py QUEUE_URL")
    queue_url = sys.argv[1]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    kwargs = {}
    if not os.environ.get("AWS_ENDPOINT_URL_SQS") and "amazonaws.com" not in queue_url:
        kwargs["endpoint_url"] = "/".join(queue_url.split("/")[:3])
    sqs = boto3.client("sqs", region_name=os.environ.get("AWS_REGION", "us-east-1"), **kwargs)
    while not stopping:
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=20)
        done = []
        for m in resp.get("Messages", []):
            try:
                process(m)
            except Exception as e:  # leave it for a retry
                print("failed {0}: {1}".format(m["MessageId"], e), file=sys.stderr)
                continue
            done.append({"Id": str(len(done)), "ReceiptHandle": m["ReceiptHandle"]})
        if done:
            out = sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
            for f in out.get("Failed", []):
                print("delete failed: {0}".format(f), file=sys.stderr)


if __name__ == "__main__":
    main()
