package sqsbackend

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/autoscale/failwatch"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/service"
)

// DeadLetterAPI is what DeadLetters calls; *sqs.Client implements it.
type DeadLetterAPI interface {
	API
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

var (
	_ DeadLetterAPI         = (*sqs.Client)(nil)
	_ failwatch.DeadLetters = (*DeadLetters)(nil)
)

// DeadLetters reads a queue's dead-letter queue over SQS for
// failwatch.Watch: the queue's RedrivePolicy names it (GetQueueAttributes),
// GetQueueUrl finds it, and its ApproximateNumberOfMessages* counts are its
// depth. SQS does not count the messages it moved, so Moved stays 0. Start
// reads it at once and then every interval in the background, so that
// DeadLetters (on the autoscaler's tick) never waits on the network.
type DeadLetters struct {
	api      DeadLetterAPI
	queueURL string
	every    time.Duration
	clk      clock.Clock
	log      *slog.Logger

	mu      sync.Mutex // guards the fields below
	last    failwatch.DeadLetterReading
	arn     string // the RedrivePolicy's deadLetterTargetArn that dlqURL was found for
	dlqURL  string
	failing string // the last refresh's error, logged once
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewDeadLetters returns a reader of queueURL's dead-letter queue that
// refreshes every interval (default 5s) once started; clk times it
// (default clock.Real{}), log gets a failing read once at warn (default:
// discard).
func NewDeadLetters(api DeadLetterAPI, queueURL string, every time.Duration, clk clock.Clock, log *slog.Logger) *DeadLetters {
	if every <= 0 {
		every = 5 * time.Second
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DeadLetters{api: api, queueURL: queueURL, every: every, clk: clk, log: log}
}

// DeadLetters implements failwatch.DeadLetters: the last reading.
func (d *DeadLetters) DeadLetters() failwatch.DeadLetterReading {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// Refresh reads the dead-letter queue once; the last good reading stays
// when it fails.
func (d *DeadLetters) Refresh(ctx context.Context) error {
	out, err := d.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(d.queueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return fmt.Errorf("sqsbackend: dead-letter queue of %s: GetQueueAttributes: %w", d.queueURL, err)
	}
	arn := redriveTarget(out.Attributes[string(types.QueueAttributeNameRedrivePolicy)])
	if arn == "" {
		d.set(failwatch.DeadLetterReading{}, "", "")
		return nil
	}
	d.mu.Lock()
	url := d.dlqURL
	if d.arn != arn {
		url = ""
	}
	d.mu.Unlock()
	name, account := arnQueue(arn)
	if url == "" {
		in := &sqs.GetQueueUrlInput{QueueName: aws.String(name)}
		if account != "" {
			in.QueueOwnerAWSAccountId = aws.String(account)
		}
		u, err := d.api.GetQueueUrl(ctx, in)
		if err != nil {
			return fmt.Errorf("sqsbackend: dead-letter queue %s: GetQueueUrl: %w", name, err)
		}
		url = aws.ToString(u.QueueUrl)
	}
	da, err := d.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return fmt.Errorf("sqsbackend: dead-letter queue %s: GetQueueAttributes: %w", name, err)
	}
	n := 0
	for _, a := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
		types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed} {
		v, _ := strconv.Atoi(da.Attributes[string(a)])
		n += v
	}
	d.set(failwatch.DeadLetterReading{Queue: name, Messages: n}, arn, url)
	return nil
}

func (d *DeadLetters) set(r failwatch.DeadLetterReading, arn, url string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last, d.arn, d.dlqURL = r, arn, url
}

// Start reads the dead-letter queue once, then every interval until Stop.
// A failing read is logged once at warn (and once at info when it
// recovers); it never stops the reader.
func (d *DeadLetters) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.done != nil {
		d.mu.Unlock()
		return nil
	}
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel, d.done = cancel, make(chan struct{})
	done := d.done
	d.mu.Unlock()
	d.refreshLogged(run)
	go func() {
		defer close(done)
		for {
			t := d.clk.NewTimer(d.every)
			select {
			case <-run.Done():
				t.Stop()
				return
			case <-t.C():
			}
			d.refreshLogged(run)
		}
	}()
	return nil
}

// Stop ends the background reads; it is idempotent.
func (d *DeadLetters) Stop(ctx context.Context) error {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	return service.Halt(ctx, cancel, done)
}

func (d *DeadLetters) refreshLogged(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, max(d.every, 5*time.Second))
	err := d.Refresh(rctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	d.mu.Lock()
	prev := d.failing
	d.failing = ""
	if err != nil {
		d.failing = err.Error()
	}
	d.mu.Unlock()
	switch {
	case err != nil && prev == "":
		d.log.Warn("cannot read the dead-letter queue; the failures view shows none until it can", "queue", d.queueURL, "err", err)
	case err == nil && prev != "":
		d.log.Info("dead-letter queue readable again", "queue", d.queueURL)
	}
}

// redriveTarget is a RedrivePolicy's deadLetterTargetArn, "" without one.
func redriveTarget(policy string) string {
	if policy == "" {
		return ""
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(policy), &rp) != nil {
		return ""
	}
	return rp.DeadLetterTargetArn
}

// arnQueue is an SQS queue ARN's queue name and account
// (arn:aws:sqs:REGION:ACCOUNT:NAME).
func arnQueue(arn string) (name, account string) {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return arn[strings.LastIndexByte(arn, ':')+1:], ""
	}
	return parts[len(parts)-1], parts[4]
}
