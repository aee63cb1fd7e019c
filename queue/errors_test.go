package queue

import "testing"

// The error table reads both ways: every code's query spelling parses back
// to it (codes that share another's spelling parse to that one), and the
// statuses are HTTP errors.
func TestCodeTable(t *testing.T) {
	t.Parallel()
	for c, i := range codeTable {
		if i.QueryCode == "" || i.Status < 400 || i.Status > 599 || i.HTTPStatus < 400 || i.HTTPStatus > 599 {
			t.Errorf("%s: %+v", c, i)
		}
		got, ok := ParseCode(string(c))
		if !ok || got != c {
			t.Errorf("ParseCode(%q) = %q, %v", c, got, ok)
		}
		got, ok = ParseCode(i.QueryCode)
		if !ok || got.Info().QueryCode != i.QueryCode {
			t.Errorf("ParseCode(%q) = %q, %v", i.QueryCode, got, ok)
		}
	}
	if i := Code("SomethingNew").Info(); i.QueryCode != "SomethingNew" || i.Status != 400 || !i.Sender {
		t.Errorf("unknown code: %+v", i)
	}
	if _, ok := ParseCode("SomethingNew"); ok {
		t.Error("ParseCode accepted an unknown code")
	}
	tooLong := invalidParam("MessageBody", "x", tooLongReason+" 1024 bytes")
	if tooLong.HTTPStatus() != 413 || ErrQueueDoesNotExist.Info().HTTPStatus != 404 || ErrInternal.Info().Sender {
		t.Error("statuses of qscale's own endpoints")
	}
}
