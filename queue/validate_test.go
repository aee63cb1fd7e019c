package queue

import (
	"strings"
	"testing"
	"time"
)

// Message attribute data types follow the rules of the message body, so a
// type that a client could not read back intact is refused at the send.
func TestAttributeTypeCharactersRefused(t *testing.T) {
	ctx, e, _ := setup(t)
	q := mustQueue(t, e, "attrs", nil)
	for _, dataType := range []string{"String.\xff", "Number.\x00", "Binary.\xed\xa0\x80", "String." + strings.Repeat("é", 250)} {
		_, err := q.Send(ctx, SendInput{Body: "x", Attributes: map[string]AttributeValue{"a": {DataType: dataType, StringValue: "1", BinaryValue: []byte{1}}}})
		if CodeOf(err) != ErrInvalidParameterValue || !strings.Contains(err.Error(), "Message attribute 'a' type") {
			t.Errorf("type %q: %v; want InvalidParameterValue", dataType, err)
		}
	}
	// Custom labels in any valid characters are kept exactly.
	for _, dataType := range []string{"String.ünïcode label", "Number.int", "Binary.gif", "String." + strings.Repeat("é", 249)} {
		r, err := q.Send(ctx, SendInput{Body: "x", Attributes: map[string]AttributeValue{"a": {DataType: dataType, StringValue: "1", BinaryValue: []byte{1}}}})
		if err != nil {
			t.Fatalf("type %q: %v", dataType, err)
		}
		ds := receive(t, q, 1)
		if len(ds) != 1 || ds[0].Attributes["a"].DataType != dataType || ds[0].AttributesMD5 != r.AttributesMD5 {
			t.Fatalf("type %q came back as %+v", dataType, ds)
		}
		if err := q.Delete(ctx, ds[0].ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}
}

// Every range refuses values outside it, including durations so large that
// a conversion from seconds would have wrapped.
func TestRangesRefuseOutOfRange(t *testing.T) {
	t.Parallel()
	for _, r := range []Range{MaxNumberOfMessagesRange, DelaySecondsRange, ReceiveVisibilityRange, WaitTimeSecondsRange, ChangeVisibilityRange} {
		for _, n := range []int64{r.Min - 1, r.Max + 1, 18446744074, -18446744074, 1<<63 - 1, -1 << 63} {
			if _, err := r.Duration(n); err == nil || err.Code != ErrInvalidParameterValue || !strings.HasPrefix(err.Message, "Value ") {
				t.Errorf("%s %d: %v", r.Param, n, err)
			}
		}
		for _, n := range []int64{r.Min, r.Max} {
			if d, err := r.Duration(n); err != nil || d != time.Duration(n)*time.Second {
				t.Errorf("%s %d: %v, %v", r.Param, n, d, err)
			}
		}
	}
}
