// The AWS SDK for JavaScript v3 (@aws-sdk/client-sqs, JSON protocol)
// against qscale server: every action and the main errors.
// Usage: node sqs_e2e.mjs ENDPOINT. Prints one line per check; exits 1 if
// any failed.
import { createHash, randomBytes } from "node:crypto";
import {
  SQSClient,
  CreateQueueCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  DeleteMessageBatchCommand,
  ChangeMessageVisibilityCommand,
  ChangeMessageVisibilityBatchCommand,
  PurgeQueueCommand,
  TagQueueCommand,
  UntagQueueCommand,
  ListQueueTagsCommand,
  ListDeadLetterSourceQueuesCommand,
  StartMessageMoveTaskCommand,
  ListMessageMoveTasksCommand,
  CancelMessageMoveTaskCommand,
  paginateListQueues,
} from "@aws-sdk/client-sqs";

const endpoint = process.argv[2];
const account = "000000000000";
const run = randomBytes(4).toString("hex");
const name = (base) => `e2e-js-${run}-${base}`;
const arn = (q) => `arn:aws:sqs:us-east-1:${account}:${q}`;

const sqs = new SQSClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
  maxAttempts: 1,
});
const send = (cmd) => sqs.send(cmd);

const failures = [];
async function check(fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${fn.name.padEnd(40)} ${((Date.now() - t0) / 1000).toFixed(2)}s`);
  } catch (e) {
    failures.push(fn.name);
    console.log(`FAIL ${fn.name}\n${e.stack}`);
  }
}

function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

// expectError asserts the call fails with the modeled exception name, the
// query-compatible code (from x-amzn-query-error) and, if given, the status.
async function expectError(promise, { name: ename, code, status }) {
  try {
    await promise;
  } catch (e) {
    if (ename) eq(e.name, ename, "exception name");
    if (code) eq(e.Code ?? e.name, code, `error code of ${e.name}`);
    if (status) eq(e.$metadata?.httpStatusCode, status, `HTTP status of ${e.name}`);
    if (!e.message) throw new Error(`${e.name} has no message`);
    return e;
  }
  throw new Error(`call succeeded; want ${ename ?? code}`);
}

const md5 = (b) => createHash("md5").update(b).digest("hex");

function attributesMD5(attrs) {
  const parts = [];
  const enc = (b) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    parts.push(len, b);
  };
  for (const k of Object.keys(attrs).sort()) {
    const a = attrs[k];
    enc(Buffer.from(k));
    enc(Buffer.from(a.DataType));
    if (a.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      enc(Buffer.from(a.StringValue));
    } else {
      parts.push(Buffer.from([2]));
      enc(Buffer.from(a.BinaryValue));
    }
  }
  return md5(Buffer.concat(parts));
}

const create = async (q, extra = {}) => (await send(new CreateQueueCommand({ QueueName: q, ...extra }))).QueueUrl;
const attrs = async (url, names = ["All"]) =>
  (await send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }))).Attributes;

async function receiveAll(url, want, extra = {}) {
  let got = [];
  const deadline = Date.now() + 10000;
  while (got.length < want && Date.now() < deadline) {
    const r = await send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...extra }));
    got = got.concat(r.Messages ?? []);
  }
  return got;
}

await check(async function createAndAttributes() {
  const q = name("std");
  const url = await create(q, { Attributes: { VisibilityTimeout: "40" }, tags: { team: "e2e" } });
  eq(url, `${endpoint}/${account}/${q}`, "queue URL");
  const a = await attrs(url);
  eq([a.VisibilityTimeout, a.QueueArn], ["40", arn(q)], "attributes");
  eq((await send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, { team: "e2e" }, "tags");
  eq((await send(new GetQueueUrlCommand({ QueueName: q }))).QueueUrl, url, "GetQueueUrl");
  await send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: "3" } }));
  eq((await attrs(url, ["DelaySeconds"])).DelaySeconds, "3", "SetQueueAttributes");
  await expectError(send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Bogus: "1" } })),
    { name: "InvalidAttributeName", code: "InvalidAttributeName", status: 400 });
  await expectError(send(new GetQueueUrlCommand({ QueueName: name("missing") })),
    { name: "QueueDoesNotExist", code: "AWS.SimpleQueueService.NonExistentQueue", status: 400 });
});

await check(async function listQueuesPaging() {
  const prefix = name("page");
  const want = [];
  for (let i = 0; i < 5; i++) want.push(await create(`${prefix}-${i}`));
  const got = [];
  let pages = 0;
  for await (const page of paginateListQueues({ client: sqs, pageSize: 2 }, { QueueNamePrefix: prefix })) {
    if ((page.QueueUrls ?? []).length > 2) throw new Error("page larger than MaxResults");
    got.push(...(page.QueueUrls ?? []));
    pages++;
  }
  eq(got.sort(), want.sort(), "paged URLs");
  eq(pages, 3, "pages");
});

await check(async function messagesWithAttributes() {
  const url = await create(name("mattr"));
  const body = "héllo ✓";
  const ma = {
    S: { DataType: "String", StringValue: "naïve" },
    N: { DataType: "Number", StringValue: "-1.5" },
    B: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 255]) },
  };
  const r = await send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: ma }));
  eq([r.MD5OfMessageBody, r.MD5OfMessageAttributes], [md5(Buffer.from(body)), attributesMD5(ma)], "send MD5s");
  const m = (await send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }))).Messages[0];
  eq([m.Body, m.MD5OfBody, m.MD5OfMessageAttributes], [body, md5(Buffer.from(body)), attributesMD5(ma)], "received");
  eq(Buffer.from(m.MessageAttributes.B.BinaryValue).toString("hex"), "0001ff", "binary attribute");
  eq(m.MessageAttributes.N, ma.N, "number attribute");
  eq(m.Attributes.ApproximateReceiveCount, "1", "receive count");
  await send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  await expectError(send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x".repeat(1048577) })),
    { name: "InvalidParameterValue", code: "InvalidParameterValue", status: 400 });
  await expectError(send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "garbage" })),
    { name: "ReceiptHandleIsInvalid", code: "ReceiptHandleIsInvalid", status: 400 });
});

await check(async function batches() {
  const url = await create(name("batch"));
  const r = await send(new SendMessageBatchCommand({
    QueueUrl: url,
    Entries: [
      { Id: "a", MessageBody: "A" },
      { Id: "b", MessageBody: "B" },
      { Id: "bad", MessageBody: "\u0001" },
    ],
  }));
  eq((r.Successful ?? []).map((e) => e.Id).sort(), ["a", "b"], "successful");
  eq((r.Failed ?? []).map((f) => [f.Id, f.Code, f.SenderFault]), [["bad", "InvalidMessageContents", true]], "failed");
  const msgs = await receiveAll(url, 2, { VisibilityTimeout: 300 });
  eq(msgs.map((m) => m.Body).sort(), ["A", "B"], "received");
  const cv = await send(new ChangeMessageVisibilityBatchCommand({
    QueueUrl: url,
    Entries: [{ Id: "a", ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0 }],
  }));
  eq(cv.Successful.map((e) => e.Id), ["a"], "ChangeMessageVisibilityBatch");
  const again = (await send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages;
  eq(again.map((m) => m.Body), [msgs[0].Body], "visible again");
  await send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: again[0].ReceiptHandle, VisibilityTimeout: 100 }));
  const d = await send(new DeleteMessageBatchCommand({
    QueueUrl: url,
    Entries: [{ Id: "x", ReceiptHandle: again[0].ReceiptHandle }, { Id: "y", ReceiptHandle: msgs[1].ReceiptHandle }],
  }));
  eq(d.Successful.map((e) => e.Id).sort(), ["x", "y"], "DeleteMessageBatch");
  const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
  await expectError(send(new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven })),
    { name: "TooManyEntriesInBatchRequest", code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest" });
  await expectError(send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "s", MessageBody: "1" }, { Id: "s", MessageBody: "2" }] })),
    { name: "BatchEntryIdsNotDistinct", code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" });
  await expectError(send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [] })),
    { name: "EmptyBatchRequest", code: "AWS.SimpleQueueService.EmptyBatchRequest" });
});

await check(async function longPoll() {
  const url = await create(name("longpoll"));
  const t0 = Date.now();
  const poll = send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 15 }));
  await new Promise((res) => setTimeout(res, 500));
  const sent = Date.now();
  await send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake" }));
  const r = await poll;
  eq(r.Messages.map((m) => m.Body), ["wake"], "long poll");
  if (Date.now() - sent > 2000) throw new Error(`long poll answered ${Date.now() - sent} ms after the send`);
  if (Date.now() - t0 > 5000) throw new Error("long poll took too long");
});

await check(async function fifo() {
  const url = await create(name("f.fifo"), { Attributes: { FifoQueue: "true" } });
  for (const b of ["1", "2", "3"]) {
    await send(new SendMessageCommand({ QueueUrl: url, MessageBody: b, MessageGroupId: "g", MessageDeduplicationId: b }));
  }
  const r = await send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
  eq(r.Messages.map((m) => m.Body), ["1", "2", "3"], "FIFO order");
  await expectError(send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageDeduplicationId: "x" })),
    { name: "MissingParameter", code: "MissingParameter", status: 400 });
});

await check(async function purgeTagsDelete() {
  const q = name("ptd");
  const url = await create(q);
  await send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" }));
  await send(new PurgeQueueCommand({ QueueUrl: url }));
  eq((await attrs(url, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages, "0", "purged");
  await expectError(send(new PurgeQueueCommand({ QueueUrl: url })),
    { name: "PurgeQueueInProgress", code: "AWS.SimpleQueueService.PurgeQueueInProgress", status: 403 });
  await send(new TagQueueCommand({ QueueUrl: url, Tags: { a: "1", b: "2" } }));
  await send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ["a"] }));
  eq((await send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, { b: "2" }, "tags");
  await send(new DeleteQueueCommand({ QueueUrl: url }));
  await expectError(send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" })),
    { name: "QueueDoesNotExist", code: "AWS.SimpleQueueService.NonExistentQueue", status: 400 });
});

await check(async function deadLetterAndMoveTasks() {
  const dq = name("dlq"), sq = name("src");
  const dlq = await create(dq);
  const src = await create(sq, { Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(dq), maxReceiveCount: 1 }) } });
  eq((await send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls, [src], "DLQ sources");
  await send(new SendMessageCommand({ QueueUrl: src, MessageBody: "poison" }));
  eq((await send(new ReceiveMessageCommand({ QueueUrl: src, VisibilityTimeout: 0 }))).Messages.length, 1, "first receive");
  eq((await send(new ReceiveMessageCommand({ QueueUrl: src }))).Messages ?? [], [], "moved away");
  eq((await attrs(dlq, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages, "1", "in the DLQ");
  const { TaskHandle } = await send(new StartMessageMoveTaskCommand({ SourceArn: arn(dq) }));
  const deadline = Date.now() + 10000;
  let tasks;
  for (;;) {
    tasks = (await send(new ListMessageMoveTasksCommand({ SourceArn: arn(dq) }))).Results;
    if (tasks[0]?.Status === "COMPLETED") break;
    if (Date.now() > deadline) throw new Error(`move task not completed: ${JSON.stringify(tasks)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  eq(tasks[0].ApproximateNumberOfMessagesMoved, 1, "moved");
  eq((await receiveAll(src, 1)).map((m) => m.Body), ["poison"], "redriven");
  // Only a running task can be cancelled.
  const e = await expectError(send(new CancelMessageMoveTaskCommand({ TaskHandle })), {});
  if (!["UnsupportedOperation", "ResourceNotFoundException"].includes(e.name)) throw new Error(`cancel of a finished task: ${e.name}`);
});

console.log(`@aws-sdk/client-sqs against ${endpoint}: ${failures.length} checks failed`);
process.exit(failures.length ? 1 : 0);
