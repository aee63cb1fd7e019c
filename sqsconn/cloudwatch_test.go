package sqsconn_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/qscale/qscale/sqsconn"
)

// Every protocol CloudWatch speaks builds a client; any other is refused,
// naming the three.
func TestCloudWatchProtocols(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "cbor", "json", "query"} {
		if c, err := sqsconn.CloudWatch(aws.Config{Region: "us-east-1"}, "http://127.0.0.1:1", p); err != nil || c == nil {
			t.Errorf("protocol %q: %v", p, err)
		}
	}
	_, err := sqsconn.CloudWatch(aws.Config{Region: "us-east-1"}, "", "xml")
	if err == nil || !strings.Contains(err.Error(), `"xml": want cbor, json or query`) {
		t.Errorf("protocol xml: %v, want a refusal naming cbor, json and query", err)
	}
}
