#!/usr/bin/env python3
"""A command-mode handler for `qscale worker` in Python:

    qscale worker --queue-url URL --concurrency 4 -- python3 examples/handlers/handler.py

Reads one message body (JSON) on stdin. Exit 0 deletes the message; exit 1
retries it after a backoff; a message that can never succeed (not JSON) ends
in the dead-letter queue after the queue's maxReceiveCount.
"""
import json
import os
import sys


def main():
    body = sys.stdin.read()
    try:
        job = json.loads(body)
    except ValueError:
        print("not JSON, try %s: %r" % (os.environ["QSCALE_RECEIVE_COUNT"], body[:80]), file=sys.stderr)
        return 1
    attrs = json.loads(os.environ.get("QSCALE_MESSAGE_ATTRIBUTES", "{}"))
    print("job %s from message %s, attributes %s" % (job, os.environ["QSCALE_MESSAGE_ID"], sorted(attrs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
