package sqsapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const arnPrefix = "arn:aws:sqs:us-east-1:000000000000:"

// A dead-letter queue's RedriveAllowPolicy decides which queues may name
// it in their RedrivePolicy, at CreateQueue and at SetQueueAttributes.
func TestRedriveAllowPolicyEnforced(t *testing.T) {
	ctx, c := setup(t)
	redrive := func(dlq string) map[string]string {
		return map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":"%s%s","maxReceiveCount":3}`, arnPrefix, dlq)}
	}
	denied := func(dlq string) string {
		return fmt.Sprintf(`Value {"deadLetterTargetArn":"%s%s","maxReceiveCount":3} for parameter RedrivePolicy is invalid. `+
			`Reason: Dead-letter target queue's RedriveAllowPolicy does not allow this queue to use it as a dead-letter queue.`, arnPrefix, dlq)
	}
	createQueue(t, ctx, c, "closed-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`})
	createQueue(t, ctx, c, "open-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"allowAll"}`})
	createQueue(t, ctx, c, "plain-dlq", nil)
	createQueue(t, ctx, c, "picky-dlq", map[string]string{"RedriveAllowPolicy": fmt.Sprintf(`{"redrivePermission":"byQueue","sourceQueueArns":["%sfriend"]}`, arnPrefix)})

	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("src"), Attributes: redrive("closed-dlq")})
	wantError(t, err, "InvalidParameterValue", 400, denied("closed-dlq"))
	src := createQueue(t, ctx, c, "src", nil)
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &src, Attributes: redrive("closed-dlq")})
	wantError(t, err, "InvalidParameterValue", 400, denied("closed-dlq"))
	_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &src, Attributes: redrive("picky-dlq")})
	wantError(t, err, "InvalidParameterValue", 400, denied("picky-dlq"))
	for _, dlq := range []string{"open-dlq", "plain-dlq"} {
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &src, Attributes: redrive(dlq)}); err != nil {
			t.Fatalf("%s: %v", dlq, err)
		}
	}
	createQueue(t, ctx, c, "friend", redrive("picky-dlq"))

	// A source already set keeps working when the policy tightens later;
	// the policy is checked when a queue names its dead-letter queue.
	open := createQueue(t, ctx, c, "open-dlq", nil)
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &open, Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &open, AttributeNames: []types.QueueAttributeName{"RedriveAllowPolicy"}})
	if err != nil || got.Attributes["RedriveAllowPolicy"] != `{"redrivePermission":"denyAll"}` {
		t.Fatalf("RedriveAllowPolicy read back as %v, %v", got.Attributes, err)
	}
}

// RedriveAllowPolicy values are validated as SQS validates them.
func TestRedriveAllowPolicyValidation(t *testing.T) {
	ctx, c := setup(t)
	q := createQueue(t, ctx, c, "dlq", nil)
	arns := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, fmt.Sprintf(`"%sq%d"`, arnPrefix, i))
		}
		return strings.Join(s, ",")
	}
	const unsupported = "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the redrive allow policy, as it’s in an unsupported format."
	for policy, msg := range map[string]string{
		`not json`:                               unsupported,
		`["byQueue"]`:                            unsupported,
		`{"redrivePermission":"allowAll","x":1}`: unsupported,
		`{"redrivePermission":"maybe"}`:          "Invalid value for the parameter RedriveAllowPolicy. Reason: redrivePermission must be one of allowAll, denyAll or byQueue.",
		`{"sourceQueueArns":[]}`:                 "Invalid value for the parameter RedriveAllowPolicy. Reason: Redrive allow policy does not contain mandatory attribute: redrivePermission.",
		`{"redrivePermission":"byQueue"}`:        "Invalid value for the parameter RedriveAllowPolicy. Reason: You must specify sourceQueueArns when redrivePermission is set to byQueue.",
		`{"redrivePermission":"denyAll","sourceQueueArns":[` + arns(1) + `]}`:  "Invalid value for the parameter RedriveAllowPolicy. Reason: You can specify sourceQueueArns only when redrivePermission is set to byQueue.",
		`{"redrivePermission":"byQueue","sourceQueueArns":[` + arns(11) + `]}`: "Invalid value for the parameter RedriveAllowPolicy. Reason: You can specify up to 10 source queue ARNs in sourceQueueArns.",
		`{"redrivePermission":"byQueue","sourceQueueArns":["q1"]}`:             `Invalid value for the parameter RedriveAllowPolicy. Reason: "q1" is not a valid queue ARN.`,
	} {
		_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &q, Attributes: map[string]string{"RedriveAllowPolicy": policy}})
		wantError(t, err, "InvalidParameterValue", 400, msg)
	}
	for _, policy := range []string{`{"redrivePermission":"byQueue","sourceQueueArns":[` + arns(10) + `]}`, `{"redrivePermission":"allowAll"}`, ""} {
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &q, Attributes: map[string]string{"RedriveAllowPolicy": policy}}); err != nil {
			t.Fatalf("%s: %v", policy, err)
		}
	}
}

// A batch's failed entries carry SQS's codes and its wording for an entry,
// and SenderFault true for the client's mistakes.
func TestBatchEntryFailures(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "entries", nil)
	fifo := createQueue(t, ctx, c, "entries.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	type failure struct{ code, msg string }
	check := func(what string, failed []types.BatchResultErrorEntry, want map[string]failure) {
		t.Helper()
		if len(failed) != len(want) {
			t.Fatalf("%s: failed %+v, want %d", what, failed, len(want))
		}
		for _, f := range failed {
			w, ok := want[*f.Id]
			if !ok || *f.Code != w.code || aws.ToString(f.Message) != w.msg || !f.SenderFault {
				t.Errorf("%s: entry %s failed with %s %q (sender fault %v); want %s %q (sender fault)", what, *f.Id, *f.Code, aws.ToString(f.Message), f.SenderFault, w.code, w.msg)
			}
		}
	}
	attr := func(name, typ, v string) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{name: {DataType: &typ, StringValue: &v}}
	}
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("fine")},
		{Id: aws.String("name"), MessageBody: aws.String("x"), MessageAttributes: attr("AWS.reserved", "String", "v")},
		{Id: aws.String("number"), MessageBody: aws.String("x"), MessageAttributes: attr("n", "Number", "twelve")},
		{Id: aws.String("body"), MessageBody: aws.String("bad\x01")},
		{Id: aws.String("dedup"), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")},
	}})
	if err != nil || len(out.Successful) != 1 {
		t.Fatalf("SendMessageBatch: %+v, %v", out, err)
	}
	check("SendMessageBatch", out.Failed, map[string]failure{
		"name": {"InvalidParameterValue", "One or more parameters cannot be validated. Reason: Message (user) attribute name 'AWS.reserved' is invalid. " +
			"You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use."},
		"number": {"InvalidParameterValue", "One or more parameters cannot be validated. Reason: Can't cast the value of message (user) attribute 'n' to a number."},
		"body":   {"InvalidMessageContents", "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"},
		"dedup":  {"InvalidParameterValue", "The request includes a parameter that is not valid for this queue type"},
	})
	out, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &fifo, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("fine"), MessageGroupId: aws.String("g")},
		{Id: aws.String("delay"), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), DelaySeconds: 5},
	}})
	if err != nil || len(out.Successful) != 1 {
		t.Fatalf("FIFO SendMessageBatch: %+v, %v", out, err)
	}
	check("FIFO SendMessageBatch", out.Failed, map[string]failure{
		"delay": {"InvalidParameterValue", "The request include parameter that is not valid for this queue type"},
	})

	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, VisibilityTimeout: 300})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive: %+v, %v", got, err)
	}
	h := got.Messages[0].ReceiptHandle
	vout, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: h, VisibilityTimeout: 60},
		{Id: aws.String("handle"), ReceiptHandle: aws.String("nope"), VisibilityTimeout: 60},
		{Id: aws.String("long"), ReceiptHandle: h, VisibilityTimeout: 43201},
	}})
	if err != nil || len(vout.Successful) != 1 {
		t.Fatalf("ChangeMessageVisibilityBatch: %+v, %v", vout, err)
	}
	check("ChangeMessageVisibilityBatch", vout.Failed, map[string]failure{
		"handle": {"ReceiptHandleIsInvalid", `The input receipt handle "nope" is not a valid receipt handle.`},
		"long":   {"InvalidParameterValue", "VisibilityTimeout must be an integer between 0 and 43200"},
	})
	dout, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: h},
		{Id: aws.String("handle"), ReceiptHandle: aws.String("nope")},
	}})
	if err != nil || len(dout.Successful) != 1 {
		t.Fatalf("DeleteMessageBatch: %+v, %v", dout, err)
	}
	check("DeleteMessageBatch", dout.Failed, map[string]failure{
		"handle": {"ReceiptHandleIsInvalid", `The input receipt handle "nope" is not a valid receipt handle.`},
	})
	// The deleted message's handle can no longer change its visibility.
	vout, err = c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("gone"), ReceiptHandle: h, VisibilityTimeout: 60},
	}})
	if err != nil {
		t.Fatal(err)
	}
	check("ChangeMessageVisibilityBatch of a deleted message", vout.Failed, map[string]failure{
		"gone": {"InvalidParameterValue", "Message does not exist or is not available for visibility timeout change"},
	})
}

// Message attribute names follow SQS's rules: letters and digits of any
// script, hyphens, underscores and periods, up to 256 characters, no
// reserved prefix in any case, no period at either end or twice in a row.
func TestMessageAttributeNames(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "names", nil)
	send := func(name string) error {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"),
			MessageAttributes: map[string]types.MessageAttributeValue{name: {DataType: aws.String("String"), StringValue: aws.String("v")}}})
		return err
	}
	for _, name := range []string{"plain", "with.dots-and_under9", "ünïcödé", "日本語", "Ωmega.σ", strings.Repeat("é", 256), "AWSish", "amazonian", "x.AWS.y"} {
		if err := send(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	// What was sent comes back with its name intact: the SDK checks the
	// MD5 of the attributes against the names it receives.
	for range 9 {
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: []string{"All"}, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			break
		}
	}
	const (
		reserved = "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use."
		period   = "Message attribute names can't start or end with a period."
		twice    = "Message attribute names can't contain successive periods."
		chars    = "Message attribute names can only contain alphanumeric characters, hyphens (-), underscores (_), and periods (.)."
		long     = "Message attribute name must be at most 256 characters long."
	)
	for name, reason := range map[string]string{
		"AWS.x": reserved, "aws.x": reserved, "Amazon.x": reserved, "AMAZON.x": reserved, "aWs.": reserved,
		".lead": period, "trail.": period, "a..b": twice,
		"a b": chars, "a/b": chars, "a:b": chars, "tab\t": chars, "emoji😀": chars,
		strings.Repeat("é", 257): long,
	} {
		wantError(t, send(name), "InvalidParameterValue", 400, fmt.Sprintf("Message (user) attribute name '%s' is invalid. %s", name, reason))
	}
}

// ChangeMessageVisibility with the handle of a message whose visibility
// timeout has passed, and which no one received since, succeeds and leaves
// it visible on a standard queue; a FIFO queue's handle expires with the
// timeout. A handle that a newer receive replaced, or of a deleted message,
// fails. DeleteMessage with a replaced handle succeeds on a standard queue
// and deletes nothing.
func TestReceiptHandlesAfterTheVisibilityTimeout(t *testing.T) {
	ctx, c := setup(t)
	// VisibilityTimeout 0 on the queue: each receive lets its message go at
	// once (the SDK leaves a zero out of ReceiveMessage itself).
	std := createQueue(t, ctx, c, "expiring", map[string]string{"VisibilityTimeout": "0"})
	fifo := createQueue(t, ctx, c, "expiring.fifo", map[string]string{"VisibilityTimeout": "0", "FifoQueue": "true", "ContentBasedDeduplication": "true"})
	receive := func(url string) *string {
		t.Helper()
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
		if err != nil || len(got.Messages) != 1 {
			t.Fatalf("receive: %+v, %v", got, err)
		}
		return got.Messages[0].ReceiptHandle
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &std, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	first := receive(std)
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &std, ReceiptHandle: first, VisibilityTimeout: 600}); err != nil {
		t.Fatalf("standard queue, expired handle: %v", err)
	}
	second := receive(std) // still visible: the change did nothing
	_, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &std, ReceiptHandle: first, VisibilityTimeout: 600})
	wantError(t, err, "InvalidParameterValue", 400, "Value "+*first+" for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &std, ReceiptHandle: first}); err != nil {
		t.Fatalf("standard queue, replaced handle: %v", err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &std, ReceiptHandle: second}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &std, ReceiptHandle: second, VisibilityTimeout: 600})
	wantError(t, err, "InvalidParameterValue", 400, "Value "+*second+" for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")

	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &fifo, MessageBody: aws.String("m"), MessageGroupId: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	h := receive(fifo)
	_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &fifo, ReceiptHandle: h, VisibilityTimeout: 600})
	wantError(t, err, "InvalidParameterValue", 400, "Value "+*h+" for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.")
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &fifo, ReceiptHandle: h})
	wantError(t, err, "InvalidParameterValue", 400, "Value "+*h+" for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.")
	if n := countMessages(t, ctx, c, fifo); n[0] != 1 {
		t.Fatalf("FIFO message counts %v after refused changes, want it visible", n)
	}
}

// ReceiveMessage's MessageAttributeNames select by exact name or by a
// "prefix.*" (names that start with "prefix."), and MD5OfMessageAttributes
// covers the attributes returned (the SDK checks it on every receive).
func TestMessageAttributePrefixSelection(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "prefixes", map[string]string{"VisibilityTimeout": "0"})
	attrs := map[string]types.MessageAttributeValue{}
	for _, n := range []string{"Hel.lo", "Hel.p", "Hello", "Other"} {
		attrs[n] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("v-" + n)}
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"Hel.*"}, "Hel.lo Hel.p"},
		{[]string{"Hel.*", "Other"}, "Hel.lo Hel.p Other"},
		{[]string{".*"}, "Hel.lo Hel.p Hello Other"},
		{[]string{"All"}, "Hel.lo Hel.p Hello Other"},
		{[]string{"Nope.*"}, ""},
	} {
		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MessageAttributeNames: tc.names})
		if err != nil || len(got.Messages) != 1 {
			t.Fatalf("%v: %+v, %v", tc.names, got, err)
		}
		var names []string
		for n := range got.Messages[0].MessageAttributes {
			names = append(names, n)
		}
		slices.Sort(names)
		if strings.Join(names, " ") != tc.want {
			t.Errorf("%v selected %v, want %s", tc.names, names, tc.want)
		}
		if (tc.want == "") != (got.Messages[0].MD5OfMessageAttributes == nil) {
			t.Errorf("%v: MD5OfMessageAttributes %v", tc.names, got.Messages[0].MD5OfMessageAttributes)
		}
	}
}

// MessageGroupId and MessageDeduplicationId are 1 to 128 characters from
// '!' to '~'.
func TestFIFOIDCharacters(t *testing.T) {
	ctx, c := setup(t)
	url := createQueue(t, ctx, c, "ids.fifo", map[string]string{"FifoQueue": "true"})
	send := func(group, dedup string) error {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), MessageGroupId: &group, MessageDeduplicationId: &dedup})
		return err
	}
	ok := "!#$%&'()*+,-./0-9:;<=>?@A-Z[\\]^_`a-z{|}~"
	if err := send(ok, strings.Repeat("d", 128)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ group, dedup, param string }{
		{strings.Repeat("g", 129), "d", "MessageGroupId"},
		{"with space", "d", "MessageGroupId"},
		{"ünïcode", "d", "MessageGroupId"},
		{"g", strings.Repeat("d", 129), "MessageDeduplicationId"},
		{"g", "tab\there", "MessageDeduplicationId"},
	} {
		value := tc.group
		if tc.param == "MessageDeduplicationId" {
			value = tc.dedup
		}
		wantError(t, send(tc.group, tc.dedup), "InvalidParameterValue", 400, fmt.Sprintf("Value %s for parameter %s is invalid. Reason: %s can only include alphanumeric and punctuation characters. 1 to 128 in length.", value, tc.param, tc.param))
	}
}

// The FIFO-only attributes are unknown on a standard queue, as in SQS.
func TestFIFOOnlyAttributesOnStandardQueue(t *testing.T) {
	ctx, c := setup(t)
	plain := createQueue(t, ctx, c, "std", nil)
	for name, v := range map[string]string{"ContentBasedDeduplication": "true", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue", "FifoQueue": "false"} {
		_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("std-" + strings.ToLower(name)), Attributes: map[string]string{name: v}})
		wantError(t, err, "InvalidAttributeName", 400, "Unknown Attribute "+name+".")
		_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &plain, Attributes: map[string]string{name: v}})
		wantError(t, err, "InvalidAttributeName", 400, "Unknown Attribute "+name+".")
	}
}
