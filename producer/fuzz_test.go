package producer

import (
	"net/url"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: the request decoder never panics, refuses with a 4xx and a
// code, and accepts only messages that reach a queue intact (the queue
// validates the rest).
func FuzzDecode(f *testing.F) {
	f.Add(true, "", "message=test", []byte(nil))
	f.Add(false, "application/json", "", []byte(`{"body":"x","attributes":{"k":{"DataType":"String","StringValue":"v"}},"delaySeconds":5}`))
	f.Add(false, "application/json", "", []byte(`[{"body":"a"},{"body":"b","messageGroupId":"g","messageDeduplicationId":"d"}]`))
	f.Add(false, "text/plain; charset=utf-8", "delaySeconds=3", []byte("raw body"))
	f.Add(false, "application/x-www-form-urlencoded", "", []byte(` {"body":"x"}`))
	f.Add(false, "", "", []byte(`[null, {"body": 1}]`))
	f.Add(false, "application/json", "", []byte(`{"body":"x","delaySeconds":1e99}`))
	f.Add(false, "text/plain", "", []byte("a\xffb"))
	f.Fuzz(func(t *testing.T, get bool, contentType, rawQuery string, body []byte) {
		method := "POST"
		if get {
			method = "GET"
		}
		query, _ := url.ParseQuery(rawQuery)
		msgs, batch, err := Decode(method, contentType, query, body)
		if err != nil {
			if err.Status < 400 || err.Status > 499 || err.Code == "" || err.Message == "" {
				t.Fatalf("refusal %+v", err)
			}
			if msgs != nil {
				t.Fatalf("refusal with messages %v", msgs)
			}
			return
		}
		if len(msgs) == 0 || len(msgs) > MaxBatch || (!batch && len(msgs) != 1) {
			t.Fatalf("%d messages, batch %v", len(msgs), batch)
		}
		for _, m := range msgs {
			if !utf8.ValidString(m.Body) {
				t.Fatalf("accepted a body that is not UTF-8: %q", m.Body)
			}
			if m.DelaySeconds != nil && (*m.DelaySeconds < 0 || *m.DelaySeconds > MaxDelay) {
				t.Fatalf("accepted delay %d", *m.DelaySeconds)
			}
		}
	})
}
