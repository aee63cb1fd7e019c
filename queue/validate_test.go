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

// A failed batch entry words an invalid parameter as SQS does in batches:
// the bare reason, or "One or more parameters cannot be validated".
func TestBatchMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{invalidParam("DelaySeconds", 5, "The request include parameter that is not valid for this queue type"), "The request include parameter that is not valid for this queue type"},
		{errorf(ErrInvalidParameterValue, invalidPrefix+"Message must be shorter than 1024 bytes."), "One or more parameters cannot be validated. Reason: Message must be shorter than 1024 bytes."},
		{errorf(ErrInvalidParameterValue, "Can't cast the value of message (user) attribute 'n' to a number."), "One or more parameters cannot be validated. Reason: Can't cast the value of message (user) attribute 'n' to a number."},
		{errorf(ErrInvalidParameterValue, "The request must contain the parameter MessageGroupId."), "The request must contain the parameter MessageGroupId."},
		{invalidReceipt("h"), `The input receipt handle "h" is not a valid receipt handle.`},
		{errorf(ErrServiceUnavailable, "The disk is full."), "The disk is full."},
	} {
		if got := tc.err.BatchMessage(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestRedriveAllowPolicyAllows(t *testing.T) {
	t.Parallel()
	const src = "arn:aws:sqs:us-east-1:000000000000:src"
	for _, tc := range []struct {
		policy string
		want   bool
	}{
		{"", true},
		{`{"redrivePermission":"allowAll"}`, true},
		{`{"redrivePermission":"denyAll"}`, false},
		{`{"redrivePermission":"byQueue","sourceQueueArns":["` + src + `"]}`, true},
		{`{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:other"]}`, false},
	} {
		p, err := ParseRedriveAllowPolicy(tc.policy)
		if err != nil {
			t.Fatalf("%s: %v", tc.policy, err)
		}
		if got := p.Allows(src); got != tc.want {
			t.Errorf("%s allows the source: %v, want %v", tc.policy, got, tc.want)
		}
	}
}

// FuzzParseRedriveAllowPolicy: any attribute value is accepted as a valid
// policy or refused with InvalidParameterValue, never a panic.
func FuzzParseRedriveAllowPolicy(f *testing.F) {
	for _, s := range []string{"", `{"redrivePermission":"allowAll"}`, `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:r:1:q"]}`,
		`{"redrivePermission":"byQueue","sourceQueueArns":null}`, `null`, `{"sourceQueueArns":[1]}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, err := ParseRedriveAllowPolicy(v)
		if err != nil {
			if err.Code != ErrInvalidParameterValue {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if v == "" {
			if p != nil {
				t.Fatalf("empty policy parsed as %+v", p)
			}
			return
		}
		switch p.RedrivePermission {
		case RedriveAllowAll, RedriveDenyAll:
		case RedriveByQueue:
			if len(p.SourceQueueArns) == 0 || len(p.SourceQueueArns) > MaxRedriveSourceQueues {
				t.Fatalf("%q accepted with %d source queues", v, len(p.SourceQueueArns))
			}
		default:
			t.Fatalf("%q accepted with permission %q", v, p.RedrivePermission)
		}
	})
}
