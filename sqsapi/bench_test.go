package sqsapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
)

// BenchmarkServeRequest is the handler's cost of one JSON request of 1 KiB
// (a GetQueueUrl with a padding field, so that the engine does little):
// reading the body, decoding, the answer.
func BenchmarkServeRequest(b *testing.B) {
	e, err := queue.Open(context.Background(), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop(context.Background())
	if _, err := e.CreateQueue(context.Background(), "bench", nil, nil); err != nil {
		b.Fatal(err)
	}
	h := sqsapi.NewHandler(e, sqsapi.Options{})
	body := `{"QueueName":"bench","Padding":"` + strings.Repeat("x", 1024) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "AmazonSQS.GetQueueUrl")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
