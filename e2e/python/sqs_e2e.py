#!/usr/bin/env python3
"""Every SQS action and the main errors, through boto3, against qscale server.

Run under Debian's boto3 1.26 (query protocol) and pyenv's boto3 1.43 (JSON
protocol): usage: sqs_e2e.py ENDPOINT PROTOCOL, where PROTOCOL is the wire
protocol this boto3 must use ("query" or "json"). Every check runs even when
one fails; the script prints one line per check and exits 1 if any failed.
"""

import base64
import hashlib
import json
import struct
import sys
import threading
import time
import traceback
import uuid

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT, PROTOCOL = sys.argv[1], sys.argv[2]
ACCOUNT = "000000000000"
RUN = uuid.uuid4().hex[:8]  # keeps queue names of this run apart


def make_client(**cfg):
    return boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=30, **cfg),
    )


sqs = make_client()
# Errors the SDK would refuse before sending (empty or oversize batches)
# must come from the server, so this client skips parameter validation.
raw = make_client(parameter_validation=False)


class QueryMoveTasks:
    """Start/List/CancelMessageMoveTask over the query protocol for a
    botocore that predates them (botocore 1.29, Debian's boto3 1.26): the
    same form-encoded, SigV4-signed requests a newer query client sends,
    with errors raised as the ClientError botocore would raise."""

    def __init__(self, client):
        self.client = client

    def _call(self, action, **params):
        import urllib.parse
        import xml.etree.ElementTree as ET
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        form = {"Action": action, "Version": "2012-11-05"}
        form.update({k: str(v) for k, v in params.items()})
        req = AWSRequest(method="POST", url=ENDPOINT + "/", data=urllib.parse.urlencode(form),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(self.client._request_signer._credentials, "sqs", "us-east-1").add_auth(req)
        prepared = req.prepare()
        resp = self.client._endpoint.http_session.send(prepared)
        root = ET.fromstring(resp.content)
        strip = lambda tag: tag.rsplit("}", 1)[-1]
        if resp.status_code >= 300:
            err = {strip(e.tag): e.text for e in root.iter() if strip(e.tag) in ("Code", "Message", "Type")}
            raise ClientError({"Error": err, "ResponseMetadata": {"HTTPStatusCode": resp.status_code}}, action)
        result = next(e for e in root if strip(e.tag) == action + "Result")
        return result, strip

    def start_message_move_task(self, **kw):
        result, strip = self._call("StartMessageMoveTask", **kw)
        return {strip(e.tag): e.text for e in result}

    def cancel_message_move_task(self, **kw):
        result, strip = self._call("CancelMessageMoveTask", **kw)
        return {strip(e.tag): int(e.text) for e in result}

    def list_message_move_tasks(self, **kw):
        result, strip = self._call("ListMessageMoveTasks", **kw)
        ints = ("ApproximateNumberOfMessagesMoved", "ApproximateNumberOfMessagesToMove", "MaxNumberOfMessagesPerSecond", "StartedTimestamp")
        return {"Results": [{strip(f.tag): int(f.text) if strip(f.tag) in ints else f.text for f in e} for e in result]}


# Debian's botocore 1.29 has no message move task operations.
moves = sqs if hasattr(sqs, "start_message_move_task") else QueryMoveTasks(sqs)


def name(base):
    return "e2e-%s-%s" % (RUN, base)


# --- helpers -----------------------------------------------------------------

failures = []


def check(fn):
    """Runs one check and records its outcome."""
    t0 = time.monotonic()
    try:
        fn()
        print("ok   %-40s %.2fs" % (fn.__name__, time.monotonic() - t0), flush=True)
    except Exception:  # noqa: BLE001 - every failure is reported
        failures.append(fn.__name__)
        print("FAIL %s" % fn.__name__, flush=True)
        traceback.print_exc(file=sys.stdout)
    return fn


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def expect_error(code, fn, *args, status=None, exc=None, **kwargs):
    """Calls fn and asserts it fails with the error code the client reports.

    AWS's JSON protocol carries the query code in x-amzn-query-error, and
    botocore reports that code in both protocols, so one code fits both.
    """
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        err = e.response["Error"]
        eq(err.get("Code"), code, "error code of %s" % fn.__name__)
        if status is not None:
            eq(e.response["ResponseMetadata"]["HTTPStatusCode"], status, "HTTP status of %s" % code)
        if exc is not None and not isinstance(e, exc):
            raise AssertionError("error %s is %s, want the modeled %s" % (code, type(e).__name__, exc.__name__))
        if not err.get("Message"):
            raise AssertionError("error %s has no message" % code)
        return e
    raise AssertionError("%s succeeded; want error %s" % (fn.__name__, code))


def md5(b):
    return hashlib.md5(b).hexdigest()


def attributes_md5(attrs):
    """The MD5 of message attributes, as AWS computes it."""
    buf = b""

    def enc(b):
        return struct.pack(">I", len(b)) + b

    for k in sorted(attrs):
        a = attrs[k]
        buf += enc(k.encode()) + enc(a["DataType"].encode())
        if "StringValue" in a:
            buf += b"\x01" + enc(a["StringValue"].encode())
        else:
            buf += b"\x02" + enc(a["BinaryValue"])
    return md5(buf)


def attrs_of(url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def arn(qname):
    return "arn:aws:sqs:us-east-1:%s:%s" % (ACCOUNT, qname)


def receive_all(url, want, **kw):
    """Receives until want messages arrived (a standard queue may answer
    fewer than asked for), with a short long poll."""
    got = []
    deadline = time.monotonic() + 10
    while len(got) < want and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kw)
        got += r.get("Messages", [])
    return got


# --- checks --------------------------------------------------------------------


@check
def protocol():
    eq(sqs.meta.service_model.protocol, PROTOCOL, "wire protocol of boto3 %s" % boto3.__version__)


@check
def create_queue_with_attributes_and_tags():
    qn = name("std")
    url = sqs.create_queue(
        QueueName=qn,
        Attributes={"VisibilityTimeout": "40", "MessageRetentionPeriod": "3600", "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0"},
        tags={"team": "e2e", "env": "test"},
    )["QueueUrl"]
    eq(url, "%s/%s/%s" % (ENDPOINT, ACCOUNT, qn), "queue URL")
    a = attrs_of(url)
    eq(a["VisibilityTimeout"], "40", "VisibilityTimeout")
    eq(a["MessageRetentionPeriod"], "3600", "MessageRetentionPeriod")
    eq(a["QueueArn"], arn(qn), "QueueArn")
    for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
              "CreatedTimestamp", "LastModifiedTimestamp", "MaximumMessageSize"):
        if k not in a:
            raise AssertionError("GetQueueAttributes All lacks %s: %r" % (k, a))
    eq(sqs.list_queue_tags(QueueUrl=url).get("Tags"), {"team": "e2e", "env": "test"}, "tags")
    # CreateQueue of an existing queue with the same attributes returns it.
    eq(sqs.create_queue(QueueName=qn, Attributes={"VisibilityTimeout": "40", "MessageRetentionPeriod": "3600",
                                                  "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0"})["QueueUrl"], url, "idempotent CreateQueue")
    expect_error("QueueAlreadyExists", sqs.create_queue, QueueName=qn, Attributes={"VisibilityTimeout": "41"})


@check
def create_fifo_queue():
    qn = name("order.fifo")
    url = sqs.create_queue(QueueName=qn, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    a = attrs_of(url, "FifoQueue", "ContentBasedDeduplication")
    eq(a, {"FifoQueue": "true", "ContentBasedDeduplication": "true"}, "FIFO attributes")
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g")
    if not first.get("SequenceNumber"):
        raise AssertionError("FIFO SendMessage has no SequenceNumber: %r" % first)
    dup = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g")
    eq(dup["MessageId"], first["MessageId"], "content-based deduplication returns the first MessageId")
    sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="three", MessageGroupId="g", MessageDeduplicationId="d3")
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId", "SequenceNumber"])
    msgs = r.get("Messages", [])
    eq([m["Body"] for m in msgs], ["one", "two", "three"], "FIFO order within a group")
    eq(msgs[0]["Attributes"].get("MessageGroupId"), "g", "MessageGroupId attribute")
    # The group is locked while its messages are in flight.
    eq(sqs.receive_message(QueueUrl=url).get("Messages", []), [], "locked group")
    expect_error("MissingParameter", sqs.send_message, QueueUrl=url, MessageBody="no group")
    expect_error("InvalidParameterValue", sqs.create_queue, QueueName=name("nofifosuffix"), Attributes={"FifoQueue": "true"})


@check
def get_queue_url():
    qn = name("geturl")
    url = sqs.create_queue(QueueName=qn)["QueueUrl"]
    eq(sqs.get_queue_url(QueueName=qn)["QueueUrl"], url, "GetQueueUrl")
    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName=name("nope"),
                 status=400, exc=sqs.exceptions.QueueDoesNotExist)


@check
def list_queues_paging():
    prefix = name("page")
    want = sorted(sqs.create_queue(QueueName="%s-%d" % (prefix, i))["QueueUrl"] for i in range(5))
    eq(sorted(sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])), want, "ListQueues by prefix")
    got, token, pages = [], None, 0
    while True:
        kw = {"QueueNamePrefix": prefix, "MaxResults": 2}
        if token:
            kw["NextToken"] = token
        r = sqs.list_queues(**kw)
        page = r.get("QueueUrls", [])
        if len(page) > 2:
            raise AssertionError("page of %d URLs with MaxResults 2" % len(page))
        got += page
        pages += 1
        token = r.get("NextToken")
        if not token:
            break
    eq(sorted(got), want, "ListQueues through pages")
    eq(pages, 3, "pages of 2 for 5 queues")
    # The SDK's paginator walks the same pages.
    pg = sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2})
    eq(sorted(u for p in pg for u in p.get("QueueUrls", [])), want, "ListQueues paginator")
    eq(sqs.list_queues(QueueNamePrefix=name("nomatch")).get("QueueUrls", []), [], "no match")


@check
def set_queue_attributes():
    url = sqs.create_queue(QueueName=name("setattr"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "2048"})
    eq(attrs_of(url, "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize"),
       {"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "2048"}, "attributes after SetQueueAttributes")
    expect_error("InvalidAttributeName", sqs.set_queue_attributes, QueueUrl=url, Attributes={"NoSuchAttribute": "1"})
    expect_error("InvalidAttributeValue", sqs.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    expect_error("InvalidAttributeName", sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["NoSuchAttribute"])


@check
def send_receive_with_message_attributes():
    url = sqs.create_queue(QueueName=name("mattr"))["QueueUrl"]
    body = "héllo wörld ✓"
    mattrs = {
        "Text": {"DataType": "String", "StringValue": "naïve"},
        "Count": {"DataType": "Number", "StringValue": "42.5"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xffbinary"},
        "Custom": {"DataType": "String.custom", "StringValue": "x"},
    }
    r = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=mattrs)
    eq(r["MD5OfMessageBody"], md5(body.encode()), "MD5OfMessageBody")
    eq(r["MD5OfMessageAttributes"], attributes_md5(mattrs), "MD5OfMessageAttributes")
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"][0]
    eq(m["Body"], body, "body")
    eq(m["MessageId"], r["MessageId"], "MessageId")
    eq(m["MD5OfBody"], md5(body.encode()), "MD5OfBody")
    eq(m["MD5OfMessageAttributes"], attributes_md5(mattrs), "received MD5OfMessageAttributes")
    eq(m["MessageAttributes"], mattrs, "message attributes")
    for k in ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"):
        if k not in m["Attributes"]:
            raise AssertionError("system attribute %s missing: %r" % (k, m["Attributes"]))
    eq(m["Attributes"]["ApproximateReceiveCount"], "1", "ApproximateReceiveCount")
    sent = int(m["Attributes"]["SentTimestamp"])
    if abs(sent - time.time() * 1000) > 60_000:
        raise AssertionError("SentTimestamp %d is not now" % sent)
    # Selected attributes only, and their own MD5.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["Count"], AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    eq(m["MessageAttributes"], {"Count": mattrs["Count"]}, "selected message attributes")
    eq(m["MD5OfMessageAttributes"], attributes_md5({"Count": mattrs["Count"]}), "MD5 of selected attributes")
    eq(m["Attributes"], {"ApproximateReceiveCount": "2"}, "selected system attributes")
    if "MessageSystemAttributeNames" in sqs.meta.service_model.operation_model("ReceiveMessage").input_shape.members:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        m = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["SenderId"])["Messages"][0]
        eq(list(m["Attributes"]), ["SenderId"], "MessageSystemAttributeNames")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@check
def send_message_batch_partial_failure():
    url = sqs.create_queue(QueueName=name("batch"))["QueueUrl"]
    entries = [{"Id": "m%d" % i, "MessageBody": "body %d" % i} for i in range(8)]
    entries.append({"Id": "badchars", "MessageBody": "bad \x01 character"})
    entries.append({"Id": "attrs", "MessageBody": "with attrs", "MessageAttributes": {"N": {"DataType": "Number", "StringValue": "7"}}})
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    ok = {e["Id"]: e for e in r.get("Successful", [])}
    eq(sorted(ok), sorted(["m%d" % i for i in range(8)] + ["attrs"]), "successful ids")
    eq(ok["m3"]["MD5OfMessageBody"], md5(b"body 3"), "batch MD5OfMessageBody")
    eq(ok["attrs"]["MD5OfMessageAttributes"], attributes_md5({"N": {"DataType": "Number", "StringValue": "7"}}), "batch MD5OfMessageAttributes")
    failed = r.get("Failed", [])
    eq([(f["Id"], f["Code"], f["SenderFault"]) for f in failed], [("badchars", "InvalidMessageContents", True)], "failed entries")
    got = receive_all(url, 9)
    eq(sorted(m["Body"] for m in got), sorted(["body %d" % i for i in range(8)] + ["with attrs"]), "batch bodies received")


@check
def batch_errors():
    url = sqs.create_queue(QueueName=name("batcherr"))["QueueUrl"]
    eleven = [{"Id": "e%d" % i, "MessageBody": "x"} for i in range(11)]
    expect_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", raw.send_message_batch, QueueUrl=url, Entries=eleven,
                 exc=sqs.exceptions.TooManyEntriesInBatchRequest)
    expect_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", raw.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}],
                 exc=sqs.exceptions.BatchEntryIdsNotDistinct)
    expect_error("AWS.SimpleQueueService.EmptyBatchRequest", raw.send_message_batch, QueueUrl=url, Entries=[],
                 exc=sqs.exceptions.EmptyBatchRequest)
    expect_error("AWS.SimpleQueueService.EmptyBatchRequest", raw.delete_message_batch, QueueUrl=url, Entries=[])
    expect_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", raw.change_message_visibility_batch, QueueUrl=url,
                 Entries=[{"Id": "e%d" % i, "ReceiptHandle": "h", "VisibilityTimeout": 0} for i in range(11)])
    expect_error("AWS.SimpleQueueService.InvalidBatchEntryId", raw.send_message_batch, QueueUrl=url,
                 Entries=[{"Id": "not valid!", "MessageBody": "a"}])


@check
def oversize_message():
    url = sqs.create_queue(QueueName=name("big"))["QueueUrl"]
    r = sqs.send_message(QueueUrl=url, MessageBody="a" * (1 << 20))  # exactly 1 MiB is allowed
    eq(r["MD5OfMessageBody"], md5(b"a" * (1 << 20)), "1 MiB body MD5")
    expect_error("InvalidParameterValue", sqs.send_message, QueueUrl=url, MessageBody="a" * ((1 << 20) + 1))
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    eq(len(m["Body"]), 1 << 20, "1 MiB body received")


@check
def long_poll_returns_when_a_message_arrives():
    url = sqs.create_queue(QueueName=name("longpoll"))["QueueUrl"]
    t0 = time.monotonic()
    eq(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []), [], "empty long poll")
    waited = time.monotonic() - t0
    if waited < 0.9:
        raise AssertionError("empty long poll of 1s answered after %.2fs" % waited)
    result = {}

    def poll():
        t = time.monotonic()
        result["msgs"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15).get("Messages", [])
        result["at"] = time.monotonic()
        result["took"] = result["at"] - t

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)  # let the poll reach the server; it may also arrive later, which is fine
    sent = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    th.join(20)
    eq([m["Body"] for m in result["msgs"]], ["wake up"], "long poll result")
    if result["at"] - sent > 2:
        raise AssertionError("long poll answered %.2fs after the send" % (result["at"] - sent))
    if result["took"] > 5:
        raise AssertionError("long poll of 15s took %.2fs to answer a message sent after 0.5s" % result["took"])
    expect_error("InvalidParameterValue", sqs.receive_message, QueueUrl=url, WaitTimeSeconds=21)
    expect_error("InvalidParameterValue", sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)


@check
def delete_message_and_batch():
    url = sqs.create_queue(QueueName=name("delete"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(4)])
    msgs = receive_all(url, 4)
    eq(len(msgs), 4, "received")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    r = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": msgs[1]["ReceiptHandle"]},
        {"Id": "b", "ReceiptHandle": msgs[2]["ReceiptHandle"]},
        {"Id": "bad", "ReceiptHandle": "not-a-receipt-handle"},
    ])
    eq(sorted(e["Id"] for e in r.get("Successful", [])), ["a", "b"], "DeleteMessageBatch successful")
    eq([(f["Id"], f["Code"]) for f in r.get("Failed", [])], [("bad", "ReceiptHandleIsInvalid")], "DeleteMessageBatch failed")
    expect_error("ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-receipt-handle",
                 exc=sqs.exceptions.ReceiptHandleIsInvalid)
    # Deleting an already deleted message with a valid handle succeeds, as on AWS.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    a = attrs_of(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
    eq(a, {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"}, "counts after deletes")


@check
def change_message_visibility_and_batch():
    url = sqs.create_queue(QueueName=name("vis"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    msgs = receive_all(url, 3, VisibilityTimeout=300)
    eq(len(msgs), 3, "received")
    eq(sqs.receive_message(QueueUrl=url).get("Messages", []), [], "all in flight")
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    eq([(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again], [(msgs[0]["Body"], "2")], "visible again")
    r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "one", "ReceiptHandle": msgs[1]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "two", "ReceiptHandle": msgs[2]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
    ])
    eq(sorted(e["Id"] for e in r.get("Successful", [])), ["one", "two"], "ChangeMessageVisibilityBatch successful")
    eq([(f["Id"], f["Code"]) for f in r.get("Failed", [])], [("bad", "ReceiptHandleIsInvalid")], "ChangeMessageVisibilityBatch failed")
    eq(sorted(m["Body"] for m in receive_all(url, 2)), sorted([msgs[1]["Body"], msgs[2]["Body"]]), "visible after batch change")
    expect_error("ReceiptHandleIsInvalid", sqs.change_message_visibility, QueueUrl=url, ReceiptHandle="garbage", VisibilityTimeout=0)
    expect_error("InvalidParameterValue", sqs.change_message_visibility, QueueUrl=url,
                 ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=43201)


@check
def purge_queue():
    url = sqs.create_queue(QueueName=name("purge"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    sqs.purge_queue(QueueUrl=url)
    eq(attrs_of(url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"], "0", "messages after purge")
    eq(sqs.receive_message(QueueUrl=url).get("Messages", []), [], "receive after purge")
    expect_error("AWS.SimpleQueueService.PurgeQueueInProgress", sqs.purge_queue, QueueUrl=url,
                 status=403, exc=sqs.exceptions.PurgeQueueInProgress)


@check
def tags():
    url = sqs.create_queue(QueueName=name("tags"))["QueueUrl"]
    eq(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), {}, "no tags")
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "b": "2", "c": "3"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["b"])
    sqs.tag_queue(QueueUrl=url, Tags={"a": "one"})
    eq(sqs.list_queue_tags(QueueUrl=url).get("Tags"), {"a": "one", "c": "3"}, "tags after tag/untag")


@check
def dead_letter_queue_and_move_tasks():
    dlq_name, src_name = name("dlq"), name("dlqsrc")
    dlq = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    src = sqs.create_queue(QueueName=src_name, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn(dlq_name), "maxReceiveCount": "2"})})["QueueUrl"]
    policy = json.loads(attrs_of(src, "RedrivePolicy")["RedrivePolicy"])
    eq((policy["deadLetterTargetArn"], str(policy["maxReceiveCount"])), (arn(dlq_name), "2"), "RedrivePolicy")
    eq(sqs.list_dead_letter_source_queues(QueueUrl=dlq).get("queueUrls"), [src], "ListDeadLetterSourceQueues")
    eq(sqs.list_dead_letter_source_queues(QueueUrl=src).get("queueUrls", []), [], "no sources of a source")

    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for i in (1, 2):
        m = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"])["Messages"]
        eq(m[0]["Attributes"]["ApproximateReceiveCount"], str(i), "receive count")
    # The third receive exceeds maxReceiveCount 2: the message moves to the DLQ.
    eq(sqs.receive_message(QueueUrl=src).get("Messages", []), [], "source after maxReceiveCount")
    d = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0, AttributeNames=["All"])["Messages"]
    eq(d[0]["Body"], "poison", "message in the DLQ")
    if d[0]["Attributes"].get("DeadLetterQueueSourceArn") not in (None, arn(src_name)):
        raise AssertionError("DeadLetterQueueSourceArn %r" % d[0]["Attributes"].get("DeadLetterQueueSourceArn"))

    # Redrive back to the source queue.
    handle = moves.start_message_move_task(SourceArn=arn(dlq_name))["TaskHandle"]
    deadline = time.monotonic() + 10
    while True:
        tasks = moves.list_message_move_tasks(SourceArn=arn(dlq_name))["Results"]
        if tasks and tasks[0]["Status"] == "COMPLETED":
            break
        if time.monotonic() > deadline:
            raise AssertionError("move task not completed: %r" % tasks)
        time.sleep(0.05)
    eq(tasks[0].get("TaskHandle", handle), handle, "task handle")
    eq(tasks[0]["ApproximateNumberOfMessagesMoved"], 1, "moved")
    eq([m["Body"] for m in receive_all(src, 1)], ["poison"], "redriven message")

    # A slow task to another queue, cancelled while it runs.
    other_name = name("dlqdest")
    sqs.create_queue(QueueName=other_name)
    sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)])
    handle = moves.start_message_move_task(SourceArn=arn(dlq_name), DestinationArn=arn(other_name), MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    expect_error("AWS.SimpleQueueService.UnsupportedOperation", moves.start_message_move_task, SourceArn=arn(dlq_name))
    running = moves.list_message_move_tasks(SourceArn=arn(dlq_name), MaxResults=1)["Results"]
    eq((running[0]["TaskHandle"], running[0]["Status"], running[0]["MaxNumberOfMessagesPerSecond"]), (handle, "RUNNING", 1), "running task")
    moved = moves.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    if moved >= 10:
        raise AssertionError("cancelled task moved %d of 10 at 1 message/s" % moved)
    status = moves.list_message_move_tasks(SourceArn=arn(dlq_name), MaxResults=10)["Results"][0]["Status"]
    if status not in ("CANCELLING", "CANCELLED"):
        raise AssertionError("status after cancel %s" % status)
    expect_error("ResourceNotFoundException", moves.cancel_message_move_task, TaskHandle="bm8tc3VjaC10YXNr")
    expect_error("ResourceNotFoundException", moves.start_message_move_task, SourceArn=arn(name("nosuchqueue")))


@check
def resource_api():
    # The seeds' style: boto3's resource API.
    res = boto3.resource("sqs", endpoint_url=ENDPOINT, region_name="us-east-1",
                         aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    res.create_queue(QueueName=name("resource"))
    q = res.get_queue_by_name(QueueName=name("resource"))
    eq(q.url, "%s/%s/%s" % (ENDPOINT, ACCOUNT, name("resource")), "resource queue URL")
    q.send_messages(Entries=[{"Id": str(i), "MessageBody": "r%d" % i} for i in range(3)])
    q.reload()
    eq(q.attributes.get("ApproximateNumberOfMessages"), "3", "queue.attributes ApproximateNumberOfMessages")
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        got += q.receive_messages(MaxNumberOfMessages=10, WaitTimeSeconds=1)
    eq(sorted(m.body for m in got), ["r0", "r1", "r2"], "receive_messages")
    got[0].change_visibility(VisibilityTimeout=5)
    got[1].delete()
    r = q.delete_messages(Entries=[{"Id": "x", "ReceiptHandle": got[0].receipt_handle}, {"Id": "y", "ReceiptHandle": got[2].receipt_handle}])
    eq(sorted(e["Id"] for e in r.get("Successful", [])), ["x", "y"], "queue.delete_messages")
    q.reload()
    eq((q.attributes["ApproximateNumberOfMessages"], q.attributes["ApproximateNumberOfMessagesNotVisible"]), ("0", "0"), "counts")
    eq(sorted(x.url for x in res.queues.filter(QueueNamePrefix=name("resource"))), [q.url], "queues.filter")


@check
def delays_and_counts():
    url = sqs.create_queue(QueueName=name("delay"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    a = attrs_of(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
    eq(a, {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "1"}, "counts with a delayed message")
    m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    eq([x["Body"] for x in m], ["now"], "only the undelayed message")
    eq(attrs_of(url, "ApproximateNumberOfMessagesNotVisible")["ApproximateNumberOfMessagesNotVisible"], "1", "in flight")
    # A long poll answers when the delay ends.
    t0 = time.monotonic()
    m = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    eq([x["Body"] for x in m], ["later"], "delayed message")
    if time.monotonic() - t0 > 3:
        raise AssertionError("long poll answered %.2fs after a 1s delay" % (time.monotonic() - t0))
    expect_error("InvalidParameterValue", sqs.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901)


@check
def system_attributes_and_trace_header():
    url = sqs.create_queue(QueueName=name("trace"))["QueueUrl"]
    sysattrs = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}}
    r = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=sysattrs)
    eq(r.get("MD5OfMessageSystemAttributes"), attributes_md5(sysattrs), "MD5OfMessageSystemAttributes")
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["AWSTraceHeader"])["Messages"][0]
    eq(m["Attributes"], {"AWSTraceHeader": sysattrs["AWSTraceHeader"]["StringValue"]}, "AWSTraceHeader")


@check
def stale_receipt_handles():
    url = sqs.create_queue(QueueName=name("stale"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    # AWS: a visibility change of a deleted message is InvalidParameterValue.
    expect_error("InvalidParameterValue", sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=10)


@check
def batch_too_long():
    url = sqs.create_queue(QueueName=name("toolong"))["QueueUrl"]
    entries = [{"Id": str(i), "MessageBody": "a" * 200_000} for i in range(6)]
    expect_error("AWS.SimpleQueueService.BatchRequestTooLong", sqs.send_message_batch, QueueUrl=url, Entries=entries,
                 exc=sqs.exceptions.BatchRequestTooLong)


@check
def bodies_survive_both_encodings():
    # XML normalizes a bare CR; the server must escape it. Also markup,
    # astral-plane characters and every allowed control character.
    url = sqs.create_queue(QueueName=name("bodies"))["QueueUrl"]
    bodies = ["line1\r\nline2\rline3\n", "tab\there <b>&amp;</b> ]]> \"quotes\" 'apos'", "emoji 😀 𝄞 \ud7ff \ue000 \ufffd",
              "  leading and trailing spaces  ", "x"]
    attrs = {"CR": {"DataType": "String", "StringValue": "a\r\nb <&>"}}
    for b in bodies:
        r = sqs.send_message(QueueUrl=url, MessageBody=b, MessageAttributes=attrs)
        eq(r["MD5OfMessageBody"], md5(b.encode()), "MD5 of %r" % b)
    got = receive_all(url, len(bodies), MessageAttributeNames=["All"])
    eq(sorted(m["Body"] for m in got), sorted(bodies), "bodies")
    for m in got:
        eq(m["MD5OfBody"], md5(m["Body"].encode()), "received MD5OfBody")
        eq(m["MessageAttributes"], attrs, "attribute with CR")
        eq(m["MD5OfMessageAttributes"], attributes_md5(attrs), "received MD5OfMessageAttributes")


@check
def nonexistent_queue_everywhere():
    url = "%s/%s/%s" % (ENDPOINT, ACCOUNT, name("missing"))
    code = "AWS.SimpleQueueService.NonExistentQueue"
    exc = sqs.exceptions.QueueDoesNotExist
    expect_error(code, sqs.send_message, QueueUrl=url, MessageBody="x", exc=exc)
    expect_error(code, sqs.receive_message, QueueUrl=url, exc=exc)
    expect_error(code, sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"], exc=exc)
    expect_error(code, sqs.delete_queue, QueueUrl=url, exc=exc)
    expect_error(code, sqs.purge_queue, QueueUrl=url, exc=exc)


@check
def delete_queue():
    qn = name("gone")
    url = sqs.create_queue(QueueName=qn)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName=qn, exc=sqs.exceptions.QueueDoesNotExist)
    if url in sqs.list_queues(QueueNamePrefix=qn).get("QueueUrls", []):
        raise AssertionError("deleted queue still listed")


@check
def redrive_allow_policy_enforced():
    closed = name("closeddlq")
    sqs.create_queue(QueueName=closed, Attributes={"RedriveAllowPolicy": '{"redrivePermission":"denyAll"}'})
    policy = '{"deadLetterTargetArn":"%s","maxReceiveCount":3}' % arn(closed)
    e = expect_error("InvalidParameterValue", sqs.create_queue, QueueName=name("deniedsrc"), Attributes={"RedrivePolicy": policy}, status=400)
    eq(e.response["Error"]["Message"], "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target queue's "
       "RedriveAllowPolicy does not allow this queue to use it as a dead-letter queue." % policy, "refusal")
    picky = name("pickydlq")
    src = name("allowedsrc")
    sqs.create_queue(QueueName=picky, Attributes={"RedriveAllowPolicy": '{"redrivePermission":"byQueue","sourceQueueArns":["%s"]}' % arn(src)})
    sqs.create_queue(QueueName=src, Attributes={"RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":3}' % arn(picky)})


@check
def batch_entry_failure_wording():
    url = sqs.create_queue(QueueName=name("wording"))["QueueUrl"]
    r = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "x", "MessageAttributes": {"名前.ünïcode": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "reserved", "MessageBody": "x", "MessageAttributes": {"Amazon.x": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "dedup", "MessageBody": "x", "MessageDeduplicationId": "d"},
    ])
    eq([e["Id"] for e in r.get("Successful", [])], ["ok"], "successful entries")
    failed = {f["Id"]: f for f in r.get("Failed", [])}
    eq((failed["reserved"]["Code"], failed["reserved"]["SenderFault"]), ("InvalidParameterValue", True), "reserved name")
    if not failed["reserved"]["Message"].startswith("One or more parameters cannot be validated. Reason: Message (user) attribute name 'Amazon.x' is invalid."):
        raise AssertionError("reserved name message %r" % failed["reserved"]["Message"])
    eq(failed["dedup"]["Message"], "The request includes a parameter that is not valid for this queue type", "dedup id on a standard queue")
    d = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "bad", "ReceiptHandle": "nope"}])
    eq([(f["Code"], f["Message"], f["SenderFault"]) for f in d.get("Failed", [])],
       [("ReceiptHandleIsInvalid", 'The input receipt handle "nope" is not a valid receipt handle.', True)], "delete batch entry")


@check
def expired_handle_visibility_change():
    url = sqs.create_queue(QueueName=name("expiredvis"), Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    # Visible again at once: changing its visibility with the expired handle
    # succeeds and leaves it visible, as on AWS.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=300)
    eq(len(sqs.receive_message(QueueUrl=url).get("Messages", [])), 1, "message visible after the change")


@check
def unknown_action():
    # A request the SDK cannot make: an action qscale does not know.
    import urllib.request
    if PROTOCOL == "query":
        req = urllib.request.Request(ENDPOINT + "/", data=b"Action=NoSuchAction&Version=2012-11-05",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        req = urllib.request.Request(ENDPOINT + "/", data=b"{}", headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.NoSuchAction"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("unknown action succeeded")
    except urllib.error.HTTPError as e:
        eq(e.code, 400, "status of an unknown action")


print("boto3 %s, botocore %s, %s protocol: %d checks failed" % (boto3.__version__, botocore.__version__, PROTOCOL, len(failures)))
sys.exit(1 if failures else 0)
