package worker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Message is one message received from the queue.
type Message struct {
	// ID is the queue's MessageId.
	ID string
	// ReceiptHandle identifies this receive of the message; deletes and
	// visibility changes use it.
	ReceiptHandle string
	Body          string
	// ReceiveCount is ApproximateReceiveCount: 1 on the first delivery.
	ReceiveCount int
	// Attributes are the system attributes (SentTimestamp,
	// ApproximateFirstReceiveTimestamp, MessageGroupId, ...).
	Attributes map[string]string
	// MessageAttributes are the attributes the producer set.
	MessageAttributes map[string]Attribute
	// ReceivedAt is when this worker received the message.
	ReceivedAt time.Time
}

// Attribute is one message attribute.
type Attribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// ReceiveRequest asks the queue for messages.
type ReceiveRequest struct {
	// Max is 1..10.
	Max int
	// Wait is the long-polling time, 0..20 s.
	Wait time.Duration
	// Visibility is the visibility timeout of the received messages; 0
	// means the queue's default.
	Visibility time.Duration
}

// VisibilityChange sets the visibility timeout of one held message.
type VisibilityChange struct {
	ReceiptHandle string
	Timeout       time.Duration
}

// Queue is what the runtime needs of a queue. worker/sqsclient implements it
// with the AWS SDK, for any SQS endpoint.
type Queue interface {
	// Receive returns up to req.Max messages, waiting up to req.Wait for the
	// first one. An empty result is not an error.
	Receive(ctx context.Context, req ReceiveRequest) ([]*Message, error)
	// DeleteBatch deletes up to 10 messages. Entries that failed are
	// reported with a *BatchError.
	DeleteBatch(ctx context.Context, receiptHandles []string) error
	// ChangeVisibilityBatch changes the visibility of up to 10 messages.
	// Entries that failed are reported with a *BatchError.
	ChangeVisibilityBatch(ctx context.Context, changes []VisibilityChange) error
}

// BatchError reports the entries of a batch call that failed, by receipt
// handle.
type BatchError struct {
	Failed map[string]error
}

func (e *BatchError) Error() string {
	msgs := make([]string, 0, len(e.Failed))
	for _, err := range e.Failed {
		msgs = append(msgs, err.Error())
	}
	sort.Strings(msgs)
	return fmt.Sprintf("%d batch entries failed: %s", len(e.Failed), strings.Join(msgs, "; "))
}
