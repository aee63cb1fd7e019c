package sqsconn

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/aws/smithy-go"
)

// Fixes are what a command tells its user to change when Explain finds the
// endpoint unreachable or the queue missing: its own flag or setting
// ("set --endpoint-url", "fix fleets[0].queue.url").
type Fixes struct {
	Endpoint string
	Queue    string
}

// Explain turns an SQS call's failure that users can fix into one line that
// says what is wrong and what to do: an endpoint nothing answers on, a host
// that does not resolve, a queue that does not exist. Other errors come back
// unchanged. The line holds nothing that changes from call to call (no
// request id), so a caller can tell a repeated failure from a new one.
func Explain(err error, queueURL string, ep Endpoint, fix Fixes) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
			return fmt.Errorf("the queue %s does not exist at %s; create it, or %s", queueURL, ep.URL, fix.Queue)
		}
		return err
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return err
	}
	cause := oe.Err.Error()
	var de *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.As(err, &de):
		cause = "no such host " + de.Name
	case oe.Timeout():
		cause = "no answer (timeout)"
	}
	hint := fix.Endpoint
	if ep.Loopback() {
		hint = "is `qscale server` (or `qscale up`) running? " + fix.Endpoint
	}
	return fmt.Errorf("cannot reach the queue at %s: %s; %s", ep.URL, cause, hint)
}
