package sqsapi_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// queryCall sends form as a query-protocol request to the queue q.
func queryCall(h http.Handler, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/000000000000/q", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wantQueryError asserts an XML ErrorResponse with status, code and, when
// msg is not empty, that exact message.
func wantQueryError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, msg string) {
	t.Helper()
	var r struct {
		Error struct{ Code, Message string }
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != status || r.Error.Code != code || (msg != "" && r.Error.Message != msg) {
		t.Fatalf("status %d, body %.300s (%v); want %d %s %q", rec.Code, rec.Body, err, status, code, msg)
	}
}

// wantJSONError asserts a JSON error with status, the type
// com.amazonaws.sqs#name and, when msg is not empty, that exact message.
func wantJSONError(t *testing.T, rec *httptest.ResponseRecorder, status int, name, msg string) {
	t.Helper()
	var r struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != status || r.Type != "com.amazonaws.sqs#"+name || (msg != "" && r.Message != msg) {
		t.Fatalf("status %d, body %.300s (%v); want %d %s %q", rec.Code, rec.Body, err, status, name, msg)
	}
}

// batchForm is a query-protocol SendMessageBatch of n entries of one
// parameter each (Go's form parser takes at most 10,000 parameters).
func batchForm(n int) string {
	var b strings.Builder
	b.WriteString("Action=SendMessageBatch&QueueUrl=" + url.QueryEscape("/000000000000/q"))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "&SendMessageBatchRequestEntry.%d.MessageBody=body%d", i, i)
	}
	return b.String()
}

// A query-protocol batch of thousands of entries is refused as too many
// entries once they are counted; decoding it is linear in its size
// (BenchmarkQueryBatchDecode shows the cost per entry staying flat).
func TestQueryBatchOfThousandsRefused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	if rec := jsonCall(h, "CreateQueue", `{"QueueName":"q"}`, -1); rec.Code != 200 {
		t.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
	}
	for _, action := range []string{"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"} {
		form := strings.ReplaceAll(batchForm(9990), "SendMessageBatch", action)
		rec := queryCall(h, form)
		wantQueryError(t, rec, 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			"Maximum number of entries per request are 10. You have sent 9990.")
	}
	// Ten entries are a batch; entries past a gap in the numbering are not
	// part of it.
	form := batchForm(10) + "&SendMessageBatchRequestEntry.12.Id=late&SendMessageBatchRequestEntry.12.MessageBody=x"
	for i := 1; i <= 10; i++ {
		form += fmt.Sprintf("&SendMessageBatchRequestEntry.%d.Id=m%d", i, i)
	}
	rec := queryCall(h, form)
	if rec.Code != 200 || strings.Count(rec.Body.String(), "<SendMessageBatchResultEntry>") != 10 {
		t.Fatalf("batch of 10: %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkQueryBatchDecode measures a query-protocol SendMessageBatch of
// n entries, refused for its size: the time per entry stays flat as n
// grows (it grew with n when each entry scanned the whole form).
func BenchmarkQueryBatchDecode(b *testing.B) {
	h := newHandler(b)
	if rec := jsonCall(h, "CreateQueue", `{"QueueName":"q"}`, -1); rec.Code != 200 {
		b.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
	}
	for _, n := range []int{100, 1000, 9990} {
		form := batchForm(n)
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			for b.Loop() {
				if rec := queryCall(h, form); rec.Code != 400 {
					b.Fatalf("status %d", rec.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}

// Integers too large for the engine's durations (18446744074 s is 2^64 ns
// and a little more: it used to wrap to a visibility of 0.3 s) and too
// large for an int64 are refused as out of range, in both protocols, with
// AWS's InvalidParameterValue and message.
func TestOutOfRangeIntegersRefused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for _, body := range []string{`{"QueueName":"q"}`, `{"QueueName":"dlq"}`} {
		if rec := jsonCall(h, "CreateQueue", body, -1); rec.Code != 200 {
			t.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
		}
	}
	const q = `"QueueUrl":"/000000000000/q"`
	const qf = "QueueUrl=%2F000000000000%2Fq"
	for _, v := range []string{"18446744074", "9223372036854775807", "99999999999999999999", "-18446744074"} {
		shown := v
		switch v {
		case "99999999999999999999":
			shown = "9223372036854775807" // beyond int64: shown as the nearest int64
		}
		for _, c := range []struct {
			action, json, query, message string
		}{
			{"SendMessage", `{` + q + `,"MessageBody":"x","DelaySeconds":` + v + `}`, qf + "&MessageBody=x&DelaySeconds=" + v,
				"Value " + shown + " for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."},
			{"ReceiveMessage", `{` + q + `,"VisibilityTimeout":` + v + `}`, qf + "&VisibilityTimeout=" + v,
				"Value " + shown + " for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."},
			{"ReceiveMessage", `{` + q + `,"WaitTimeSeconds":` + v + `}`, qf + "&WaitTimeSeconds=" + v,
				"Value " + shown + " for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."},
			{"ReceiveMessage", `{` + q + `,"MaxNumberOfMessages":` + v + `}`, qf + "&MaxNumberOfMessages=" + v,
				"Value " + shown + " for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."},
			{"ChangeMessageVisibility", `{` + q + `,"ReceiptHandle":"x","VisibilityTimeout":` + v + `}`, qf + "&ReceiptHandle=x&VisibilityTimeout=" + v,
				"Value " + shown + " for parameter VisibilityTimeout is invalid. Reason: VisibilityTimeout must be an integer between 0 and 43200."},
			{"ListQueues", `{"MaxResults":` + v + `}`, "MaxResults=" + v,
				"Value " + shown + " for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."},
			{"SetQueueAttributes", `{` + q + `,"Attributes":{"VisibilityTimeout":"` + v + `"}}`, qf + "&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=" + v,
				"Invalid value for the parameter VisibilityTimeout."},
		} {
			code := "InvalidParameterValue"
			if c.action == "SetQueueAttributes" {
				code = "InvalidAttributeValue"
			}
			wantJSONError(t, jsonCall(h, c.action, c.json, -1), 400, code, c.message)
			wantQueryError(t, queryCall(h, "Action="+c.action+"&"+c.query), 400, code, c.message)
		}
		// In a batch, the entry fails and the others are sent.
		rec := jsonCall(h, "SendMessageBatch", `{`+q+`,"Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":`+v+`},{"Id":"b","MessageBody":"y"}]}`, -1)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"Id":"a","SenderFault":true,"Code":"InvalidParameterValue"`) ||
			!strings.Contains(rec.Body.String(), `"Successful":[{"Id":"b"`) {
			t.Errorf("SendMessageBatch with DelaySeconds %s: %d %s", v, rec.Code, rec.Body)
		}
		rec = queryCall(h, "Action=ChangeMessageVisibilityBatch&"+qf+"&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=x&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout="+v)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<Code>InvalidParameterValue</Code>") {
			t.Errorf("ChangeMessageVisibilityBatch with VisibilityTimeout %s: %d %s", v, rec.Code, rec.Body)
		}
	}
	// Not integers at all: a JSON fraction is a serialization error, a query
	// word is not an integer.
	if rec := jsonCall(h, "ReceiveMessage", `{`+q+`,"WaitTimeSeconds":1.5}`, -1); rec.Code != 400 || !strings.Contains(rec.Body.String(), "SerializationException") {
		t.Errorf("JSON fraction: %d %s", rec.Code, rec.Body)
	}
	wantQueryError(t, queryCall(h, "Action=ReceiveMessage&"+qf+"&WaitTimeSeconds=soon"), 400, "InvalidParameterValue",
		"Value soon for parameter WaitTimeSeconds is invalid. Reason: Must be an integer.")
}

// A message attribute type that is not valid Unicode is refused at the
// send: it used to be stored, then answered altered (U+FFFD in the XML),
// so that clients checking MD5OfMessageAttributes failed on receive.
func TestAttributeTypeInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	if rec := jsonCall(h, "CreateQueue", `{"QueueName":"q"}`, -1); rec.Code != 200 {
		t.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
	}
	const msg = "Message attribute 'a' type contains invalid characters. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF."
	attr := "&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String.%FF&MessageAttribute.1.Value.StringValue=v"
	wantQueryError(t, queryCall(h, "Action=SendMessage&QueueUrl=%2F000000000000%2Fq&MessageBody=x"+attr), 400, "InvalidParameterValue", msg)
	rec := queryCall(h, "Action=SendMessageBatch&QueueUrl=%2F000000000000%2Fq&SendMessageBatchRequestEntry.1.Id=e&SendMessageBatchRequestEntry.1.MessageBody=x"+
		strings.ReplaceAll(attr, "&M", "&SendMessageBatchRequestEntry.1.M"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<Code>InvalidParameterValue</Code>") || strings.Contains(rec.Body.String(), "<SendMessageBatchResultEntry>") {
		t.Fatalf("batch: %d %s", rec.Code, rec.Body)
	}
	// In JSON, invalid UTF-8 anywhere in the body is a malformed request.
	rec = jsonCall(h, "SendMessage", "{\"QueueUrl\":\"/000000000000/q\",\"MessageBody\":\"x\",\"MessageAttributes\":{\"a\":{\"DataType\":\"String.\xff\",\"StringValue\":\"v\"}}}", -1)
	if rec.Code != 400 || rec.Header().Get("x-amzn-query-error") != "MalformedQueryString;Sender" {
		t.Fatalf("JSON: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// Nothing was stored.
	rec = queryCall(h, "Action=ReceiveMessage&QueueUrl=%2F000000000000%2Fq")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "<Message>") {
		t.Fatalf("receive: %d %s", rec.Code, rec.Body)
	}
}

// Integer parameters whose 0 the engine reads as "not given" still refuse a
// client's 0, with the value the client sent in the message.
func TestZeroAndOutOfRangeListParameters(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for _, body := range []string{`{"QueueName":"dlq"}`,
		`{"QueueName":"src","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:dlq\",\"maxReceiveCount\":2}"}}`} {
		if rec := jsonCall(h, "CreateQueue", body, -1); rec.Code != 200 {
			t.Fatalf("CreateQueue: %d %s", rec.Code, rec.Body)
		}
	}
	const dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
	for _, c := range []struct{ action, body, message string }{
		{"ListQueues", `{"MaxResults":0}`, "Value 0 for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."},
		{"ListDeadLetterSourceQueues", `{"QueueUrl":"/000000000000/dlq","MaxResults":0}`, "Value 0 for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000."},
		{"ListMessageMoveTasks", `{"SourceArn":"` + dlq + `","MaxResults":0}`, "Value 0 for parameter MaxResults is invalid. Reason: Must be between 1 and 10."},
		{"ListMessageMoveTasks", `{"SourceArn":"` + dlq + `","MaxResults":-3}`, "Value -3 for parameter MaxResults is invalid. Reason: Must be between 1 and 10."},
		{"StartMessageMoveTask", `{"SourceArn":"` + dlq + `","MaxNumberOfMessagesPerSecond":0}`, "Value 0 for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500."},
		{"StartMessageMoveTask", `{"SourceArn":"` + dlq + `","MaxNumberOfMessagesPerSecond":18446744074}`, "Value 18446744074 for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500."},
		{"ReceiveMessage", `{"QueueUrl":"/000000000000/dlq","MaxNumberOfMessages":0}`, "Value 0 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."},
	} {
		wantJSONError(t, jsonCall(h, c.action, c.body, -1), 400, "InvalidParameterValue", c.message)
	}
}
