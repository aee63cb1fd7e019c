package sqsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
)

func fuzzHandler(f *testing.F) http.Handler {
	e, err := queue.Open(context.Background(), queue.Options{DeletedQueueCooldown: -1})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.CreateQueue(ctx, "q", nil, nil); err != nil {
		f.Fatal(err)
	}
	if _, err := e.CreateQueue(ctx, "f.fifo", map[string]string{"FifoQueue": "true"}, nil); err != nil {
		f.Fatal(err)
	}
	return sqsapi.NewHandler(e, sqsapi.Options{})
}

// checkAnswer asserts the server answered a well-formed response and never
// a 5xx: bad input is the client's fault.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, jsonProto bool) {
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if jsonProto {
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer: %q", rec.Body.String())
		}
		if rec.Code >= 400 && rec.Header().Get("x-amzn-query-error") == "" {
			t.Fatalf("JSON error without x-amzn-query-error: %s", rec.Body.String())
		}
		return
	}
	d := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("invalid XML answer (%v): %q", err, rec.Body.String())
		}
	}
}

func FuzzJSONProtocol(f *testing.F) {
	h := fuzzHandler(f)
	seeds := []struct{ action, body string }{
		{"SendMessage", `{"QueueUrl":"http://h/000000000000/q","MessageBody":"x","MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}`},
		{"SendMessageBatch", `{"QueueUrl":"/000000000000/q","Entries":[{"Id":"1","MessageBody":"x"},{"Id":"2","MessageBody":"y","DelaySeconds":3}]}`},
		{"ReceiveMessage", `{"QueueUrl":"/000000000000/q","MaxNumberOfMessages":10,"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["All"]}`},
		{"SendMessage", `{"QueueUrl":"/000000000000/f.fifo","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}`},
		{"CreateQueue", `{"QueueName":"n","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:q\",\"maxReceiveCount\":2}"},"tags":{"a":"b"}}`},
		{"DeleteMessageBatch", `{"QueueUrl":"/000000000000/q","Entries":[{"Id":"1","ReceiptHandle":"qs1AAAAAAAAAAEAAAAAAAAAAQAAAAAAAAAB"}]}`},
		{"ChangeMessageVisibilityBatch", `{"QueueUrl":"/000000000000/q","Entries":[{"Id":"1","ReceiptHandle":"x","VisibilityTimeout":5}]}`},
		{"ListQueues", `{"MaxResults":2,"NextToken":"cQ"}`},
		{"StartMessageMoveTask", `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:q"}`},
		{"GetQueueAttributes", `{"QueueUrl":"/000000000000/q","AttributeNames":["All"]}`},
		{"SetQueueAttributes", `{"QueueUrl":"/000000000000/q","Attributes":{"VisibilityTimeout":"-1"}}`},
		{"Nope", `{}`},
		{"SendMessage", `{"MessageBody":5}`},
	}
	for _, s := range seeds {
		f.Add(s.action, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonSQS."+action)
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		ctx, cancel := context.WithCancel(r.Context())
		cancel() // long polls return at once
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.WithContext(ctx))
		checkAnswer(t, rec, true)
	})
}

func FuzzQueryProtocol(f *testing.F) {
	h := fuzzHandler(f)
	for _, s := range []string{
		"Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=AAEC",
		"Action=SendMessageBatch&QueueUrl=%2F000000000000%2Fq&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.2.Id=a&SendMessageBatchRequestEntry.2.MessageBody=y",
		"Action=ReceiveMessage&QueueUrl=%2F000000000000%2Fq&MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All",
		"Action=CreateQueue&QueueName=z.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true&Tag.1.Key=k&Tag.1.Value=v",
		"Action=GetQueueAttributes&QueueUrl=%2F000000000000%2Fq&AttributeName.1=All",
		"Action=DeleteMessage&QueueUrl=%2F000000000000%2Fq&ReceiptHandle=%25%25",
		"Action=ListQueues&MaxResults=x",
		"Action=ChangeMessageVisibility&QueueUrl=%2F000000000000%2Fq&ReceiptHandle=x&VisibilityTimeout=99999999999999999999",
		"Action=Unknown",
		"%zz",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/000000000000/q", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ctx, cancel := context.WithCancel(r.Context())
		cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.WithContext(ctx))
		checkAnswer(t, rec, false)
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), "<RequestId>") {
			t.Fatalf("answer without RequestId: %s", rec.Body.String())
		}
	})
}
