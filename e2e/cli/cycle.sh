#!/usr/bin/env bash
# A basic SQS cycle and an error through an AWS CLI against qscale server.
# Usage: cycle.sh AWS_EXECUTABLE PROTOCOL (query or json); the endpoint is
# $QSCALE_ENDPOINT. Exits non-zero with a message on the first failure.
set -euo pipefail
AWS=$1
PROTOCOL=$2
E=$QSCALE_ENDPOINT
Q="e2e-cli-$$-$RANDOM"
sqs() { "$AWS" --endpoint-url "$E" --region us-east-1 --output text sqs "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
want() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

"$AWS" --version

# The wire protocol this CLI speaks, from its debug log.
debug=$("$AWS" --endpoint-url "$E" --region us-east-1 --debug sqs list-queues 2>&1 >/dev/null)
case $PROTOCOL in
query) grep -q "'Action': 'ListQueues'" <<<"$debug" || fail "$AWS did not use the query protocol" ;;
json) grep -q "AmazonSQS.ListQueues" <<<"$debug" || fail "$AWS did not use the JSON protocol" ;;
esac

url=$(sqs create-queue --queue-name "$Q" --attributes VisibilityTimeout=45 --tags team=cli --query QueueUrl)
want "$url" "$E/000000000000/$Q" "create-queue URL"
want "$(sqs get-queue-url --queue-name "$Q" --query QueueUrl)" "$url" "get-queue-url"
want "$(sqs get-queue-attributes --queue-url "$url" --attribute-names VisibilityTimeout --query Attributes.VisibilityTimeout)" 45 "VisibilityTimeout"
want "$(sqs list-queue-tags --queue-url "$url" --query Tags.team)" cli "tags"
sqs list-queues --queue-name-prefix "$Q" --query 'QueueUrls[0]' | grep -qx "$url" || fail "list-queues"

sent=$(sqs send-message --queue-url "$url" --message-body 'hello from the cli' \
  --message-attributes '{"Kind":{"DataType":"String","StringValue":"greeting"}}' --query MD5OfMessageBody)
want "$sent" "$(printf %s 'hello from the cli' | md5sum | cut -d' ' -f1)" "MD5OfMessageBody"
IFS=$'\t' read -r body kind rh < <(sqs receive-message --queue-url "$url" --wait-time-seconds 2 --message-attribute-names All \
  --query 'Messages[0].[Body,MessageAttributes.Kind.StringValue,ReceiptHandle]')
want "$body $kind" "hello from the cli greeting" "received message"
sqs change-message-visibility --queue-url "$url" --receipt-handle "$rh" --visibility-timeout 60
sqs delete-message --queue-url "$url" --receipt-handle "$rh"
want "$(sqs get-queue-attributes --queue-url "$url" --attribute-names All \
  --query '[Attributes.ApproximateNumberOfMessages,Attributes.ApproximateNumberOfMessagesNotVisible]')" "0	0" "counts after delete"

sqs send-message-batch --queue-url "$url" --entries Id=a,MessageBody=one Id=b,MessageBody=two --query 'length(Successful)' | grep -qx 2 || fail "send-message-batch"
sqs purge-queue --queue-url "$url"
sqs delete-queue --queue-url "$url"

# Errors: the CLI exits 254 or 255 and names the AWS error code.
set +e
err=$(sqs get-queue-url --queue-name "$Q" 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || fail "get-queue-url of a deleted queue succeeded"
grep -q "AWS.SimpleQueueService.NonExistentQueue" <<<"$err" || fail "nonexistent queue error: $err"
set +e
err=$(sqs delete-message --queue-url "$E/000000000000/$Q-other" --receipt-handle x 2>&1)
set -e
grep -q "AWS.SimpleQueueService.NonExistentQueue" <<<"$err" || fail "nonexistent queue error: $err"
url=$(sqs create-queue --queue-name "$Q-2" --query QueueUrl)
set +e
err=$(sqs delete-message --queue-url "$url" --receipt-handle not-a-handle 2>&1)
set -e
grep -q "ReceiptHandleIsInvalid" <<<"$err" || fail "invalid receipt handle error: $err"
set +e
err=$(sqs set-queue-attributes --queue-url "$url" --attributes NoSuchAttribute=1 2>&1)
set -e
grep -q "InvalidAttributeName" <<<"$err" || fail "invalid attribute error: $err"
sqs delete-queue --queue-url "$url"
echo "cli cycle ok ($PROTOCOL)"
