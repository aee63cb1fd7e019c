package daemon

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/sqsconn"
)

// explainCheck turns the failure of the start-up's queue check into one
// line that says what is wrong and what to do: an endpoint nothing answers
// on, a queue that does not exist. Other errors keep the SDK's words.
func explainCheck(err error, queueURL string, ep sqsconn.Endpoint) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
			return fmt.Errorf("the queue %s does not exist at %s; create it, or set --queue-url", queueURL, ep.URL)
		}
		return err
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return err
	}
	cause := oe.Err.Error()
	var se *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.As(err, &se):
		cause = "no such host " + se.Name
	case oe.Timeout():
		cause = "no answer (timeout)"
	}
	hint := "check --endpoint-url and --queue-url"
	if ep.Loopback() {
		hint = "is `qscale server` (or `qscale up`) running? set --endpoint-url"
	}
	return fmt.Errorf("cannot reach the queue at %s: %s; %s", ep.URL, cause, hint)
}
