package sqssource_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale/sqssource"
)

// answers is an API that answers GetQueueAttributes with fixed attributes.
type answers map[string]string

func (a answers) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: a}, nil
}

// Whatever an endpoint answers, Observe returns an error or a reading with
// no negative count or age; it never panics.
func FuzzObserve(f *testing.F) {
	f.Add("3", "1", "0", "42.250")
	f.Add("0", "0", "0", "0")
	f.Add("-1", "x", "", "NaN")
	f.Add("9223372036854775807", "1e3", "0", "1e300")
	f.Add("1", "1", "1", "-0.5")
	f.Add("1", "1", "1", "NaN")
	f.Add("1", "1", "1", "+Inf")
	f.Fuzz(func(t *testing.T, visible, inFlight, delayed, age string) {
		src := sqssource.New(answers{
			"ApproximateNumberOfMessages": visible, "ApproximateNumberOfMessagesNotVisible": inFlight,
			"ApproximateNumberOfMessagesDelayed": delayed, sqssource.AgeAttribute: age,
		}, "http://127.0.0.1:9324/000000000000/jobs")
		st, err := src.Observe(t.Context())
		if err != nil {
			return
		}
		if st.Visible < 0 || st.InFlight < 0 || st.Delayed < 0 || st.OldestAge < 0 {
			t.Fatalf("reading %+v from %q %q %q %q", st, visible, inFlight, delayed, age)
		}
	})
}
