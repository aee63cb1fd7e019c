package sqsapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/sqsapi"
)

func newHandler(t testing.TB) http.Handler {
	t.Helper()
	e, err := queue.Open(context.Background(), queue.Options{DeletedQueueCooldown: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	return sqsapi.NewHandler(e, sqsapi.Options{})
}

func jsonCall(h http.Handler, action, body string, contentLength int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	req.ContentLength = contentLength
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestAnswerFraming checks what every JSON answer carries: a version-4
// UUID request id and its exact length, whether or not the request said
// how long its body was.
func TestAnswerFraming(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	body := `{"QueueName":"framing"}`
	for _, cl := range []int64{int64(len(body)), -1} {
		rec := jsonCall(h, "CreateQueue", body, cl)
		if rec.Code != 200 {
			t.Fatalf("Content-Length %d: status %d: %s", cl, rec.Code, rec.Body)
		}
		if id := rec.Header().Get("x-amzn-RequestId"); !uuidV4.MatchString(id) {
			t.Errorf("request id %q is not a version 4 UUID", id)
		}
		if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %q for a body of %d bytes", got, rec.Body.Len())
		}
	}
}

func TestOversizeRequestRefused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	big := strings.Repeat("x", sqsapi.MaxRequestBody+1)
	for _, cl := range []int64{int64(len(big)), -1} {
		rec := jsonCall(h, "SendMessage", big, cl)
		if !strings.Contains(rec.Body.String(), "RequestEntityTooLarge") {
			t.Errorf("Content-Length %d: status %d, body %.200s; want RequestEntityTooLarge", cl, rec.Code, rec.Body)
		}
	}
}
