package sqsapi_test

import (
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

// wantQueryError asserts an XML ErrorResponse with code and, when msg is
// not empty, that exact message.
func wantQueryError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, msg string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status || !strings.Contains(body, "<Code>"+code+"</Code>") {
		t.Fatalf("status %d, body %.300s; want %d %s", rec.Code, body, status, code)
	}
	if msg != "" && !strings.Contains(body, "<Message>"+msg+"</Message>") {
		t.Fatalf("body %.300s; want message %q", body, msg)
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
