package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/producer"
	"github.com/qscale/qscale/producer/loadgen"
	"github.com/qscale/qscale/queue"
)

// Config describes one throughput run.
type Config struct {
	QueueURL  string // use this queue; empty: create a fresh one and delete it afterwards
	QueueName string // name of the queue to create (default qscale-bench-<random>)
	Messages  int    // messages to send (default 10,000)
	Size      int    // body size in bytes (default 256; at least the 32-byte header)
	Senders   int    // concurrent producers (default 4)
	Receivers int    // concurrent consumers (default 4)
	Batch     int    // entries per send, receive and delete call, 1..10 (default 10)
	Wait      int32  // receive WaitTimeSeconds (default 20; negative: 0, no long polling)
	// SingleDeletes deletes each message with its own DeleteMessage call
	// even when Batch > 1, for endpoints without DeleteMessageBatch.
	SingleDeletes bool
	// Progress, when set, is called about every ProgressEvery (default
	// 250 ms) while the run goes on.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	Elapsed  time.Duration
	Sent     int64
	Received int64
	Deleted  int64
	Total    int
}

// Result is what a throughput run measured.
type Result struct {
	Endpoint  string `json:"endpoint,omitempty"`
	Client    string `json:"client,omitempty"` // raw or sdk
	Messages  int    `json:"messages"`
	Size      int    `json:"size_bytes"`
	Senders   int    `json:"senders"`
	Receivers int    `json:"receivers"`
	Batch     int    `json:"batch"`

	SendSeconds   float64 `json:"send_seconds"`    // start to the last send answered
	TotalSeconds  float64 `json:"total_seconds"`   // start to the last message deleted
	SendRate      float64 `json:"send_msgs_per_s"` // messages / SendSeconds
	EndToEndRate  float64 `json:"e2e_msgs_per_s"`  // messages sent, received and deleted / TotalSeconds
	Latency       Latency `json:"e2e_latency"`     // send call start -> receive answered
	Duplicates    int64   `json:"duplicates"`      // deliveries of a message already received
	Errors        int64   `json:"errors"`          // failed calls and entries, all retried
	SendCalls     int64   `json:"send_calls"`      // SendMessage(Batch) calls
	ReceiveCalls  int64   `json:"receive_calls"`   // ReceiveMessage calls
	EmptyReceives int64   `json:"empty_receives"`  // receives that returned nothing
	DeleteCalls   int64   `json:"delete_calls"`    // DeleteMessage(Batch) calls
}

func (c *Config) withDefaults() error {
	if c.Messages == 0 {
		c.Messages = 10000
	}
	if c.Size == 0 {
		c.Size = 256
	}
	if c.Senders == 0 {
		c.Senders = 4
	}
	if c.Receivers == 0 {
		c.Receivers = 4
	}
	if c.Batch == 0 {
		c.Batch = 10
	}
	if c.Wait == 0 {
		c.Wait = 20
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 250 * time.Millisecond
	}
	switch {
	case c.Messages < 1:
		return fmt.Errorf("messages must be at least 1, not %d", c.Messages)
	case c.Size < headerSize || c.Size > queue.MaxMessageSize:
		return fmt.Errorf("size must be %d..%d bytes, not %d", headerSize, queue.MaxMessageSize, c.Size)
	case c.Senders < 1 || c.Receivers < 1:
		return fmt.Errorf("senders and receivers must be at least 1")
	case c.Batch < 1 || c.Batch > queue.MaxBatchEntries:
		return fmt.Errorf("batch must be 1..%d, not %d", queue.MaxBatchEntries, c.Batch)
	case time.Duration(c.Wait)*time.Second > queue.MaxWaitTime:
		return fmt.Errorf("wait must be 0..%d seconds, not %d", int(queue.MaxWaitTime/time.Second), c.Wait)
	}
	return nil
}

// headerSize is the length of the header every body starts with: the
// message's sequence number and the time its send began.
const headerSize = 32

func encodeBody(seq int, sent time.Time, pad string) string {
	// "%011d %019d " is 32 bytes.
	return fmt.Sprintf("%011d %019d ", seq, sent.UnixNano()) + pad
}

func decodeBody(body string) (seq int, sent time.Time, ok bool) {
	if len(body) < headerSize {
		return 0, time.Time{}, false
	}
	s, err1 := strconv.Atoi(body[:11])
	ns, err2 := strconv.ParseInt(body[12:31], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, false
	}
	return s, time.Unix(0, ns), true
}

// CreateQueue creates a standard queue for a run, with a visibility
// timeout long enough that no message is delivered twice during it.
func CreateQueue(ctx context.Context, api API, name string) (string, error) {
	if name == "" {
		name = "qscale-bench-" + randomSuffix()
	}
	u, err := api.CreateQueue(ctx, name, map[string]string{"VisibilityTimeout": "300"})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	return u, nil
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run is the state shared by one run's senders and receivers.
type run struct {
	cfg      Config
	api      API
	queueURL string
	pad      string

	sent     atomic.Int64
	received atomic.Int64 // first deliveries
	deleted  atomic.Int64 // first deliveries deleted
	seen     []atomic.Bool

	dups, errs                       atomic.Int64
	sendCalls, recvCalls, emptyRecvs atomic.Int64
	deleteCalls                      atomic.Int64
	lastSendNanos, lastDeleteNanos   atomic.Int64 // since start
	start                            time.Time
	allDeleted                       chan struct{}
	allDeletedOnce                   sync.Once
}

// Run sends cfg.Messages messages with cfg.Senders producers while
// cfg.Receivers consumers receive and delete them, and measures it.
func Run(ctx context.Context, api API, cfg Config) (Result, error) {
	if err := cfg.withDefaults(); err != nil {
		return Result{}, err
	}
	queueURL := cfg.QueueURL
	if queueURL == "" {
		u, err := CreateQueue(ctx, api, cfg.QueueName)
		if err != nil {
			return Result{}, err
		}
		queueURL = u
		defer api.DeleteQueue(context.WithoutCancel(ctx), u)
	}
	r := &run{
		cfg: cfg, api: api, queueURL: queueURL,
		pad:        strings.Repeat("x", cfg.Size-headerSize),
		seen:       make([]atomic.Bool, cfg.Messages),
		allDeleted: make(chan struct{}),
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	recvCtx, stopReceiving := context.WithCancel(ctx)
	defer stopReceiving()

	var wg sync.WaitGroup
	lat := make([][]time.Duration, cfg.Receivers)
	r.start = time.Now()
	for i := range cfg.Receivers {
		wg.Go(func() {
			l, err := r.receive(recvCtx)
			lat[i] = l
			if err != nil {
				cancel(err)
			}
		})
	}
	wg.Go(func() {
		// The senders are the load generator's, each message's body carrying its
		// sequence number and the time its send began.
		res, err := loadgen.Run(ctx, r, loadgen.Config{
			Queue: queueURL, Total: cfg.Messages, Size: cfg.Size, Concurrency: cfg.Senders, Batch: cfg.Batch,
			MaxRetries: maxAttempts - 1,
			Body:       func(seq int, at time.Time) string { return encodeBody(seq, at, r.pad) },
		})
		if err == nil && res.Errors > 0 {
			err = fmt.Errorf("%d messages were not sent: %w", res.Errors, res.FirstError)
		}
		if err != nil {
			cancel(err)
		}
	})
	if cfg.Progress != nil {
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		go func() {
			for {
				select {
				case <-t.C:
					cfg.Progress(r.progress())
				case <-r.allDeleted:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	select {
	case <-r.allDeleted:
	case <-ctx.Done():
	}
	stopReceiving()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && r.deleted.Load() < int64(cfg.Messages) {
		return Result{}, fmt.Errorf("after %d sent and %d deleted: %w", r.sent.Load(), r.deleted.Load(), err)
	}
	if cfg.Progress != nil {
		cfg.Progress(r.progress())
	}

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	res := Result{
		Messages: cfg.Messages, Size: cfg.Size, Senders: cfg.Senders, Receivers: cfg.Receivers, Batch: cfg.Batch,
		SendSeconds: time.Duration(r.lastSendNanos.Load()).Seconds(),
		// The last delete may be seen before its sender has noted the
		// answer to its send: the run ends when both are done.
		TotalSeconds:  time.Duration(max(r.lastDeleteNanos.Load(), r.lastSendNanos.Load())).Seconds(),
		Latency:       Percentiles(all),
		Duplicates:    r.dups.Load(),
		Errors:        r.errs.Load(),
		SendCalls:     r.sendCalls.Load(),
		ReceiveCalls:  r.recvCalls.Load(),
		EmptyReceives: r.emptyRecvs.Load(),
		DeleteCalls:   r.deleteCalls.Load(),
	}
	res.SendRate = float64(cfg.Messages) / res.SendSeconds
	res.EndToEndRate = float64(cfg.Messages) / res.TotalSeconds
	return res, nil
}

func (r *run) progress() Progress {
	return Progress{Elapsed: time.Since(r.start), Sent: r.sent.Load(), Received: r.received.Load(),
		Deleted: r.deleted.Load(), Total: r.cfg.Messages}
}

// maxAttempts bounds how often one call is retried (on top of the SDK's
// own retries) before the run fails.
const maxAttempts = 10

// retry runs f until it succeeds, ctx ends or maxAttempts failed.
func (r *run) retry(ctx context.Context, what string, f func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = f(); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.errs.Add(1)
		select {
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Send implements producer.Sender over the run's API, for the load
// generator: one
// SendMessage when the run sends one message a call, SendMessageBatch
// otherwise. It counts calls, messages sent and failures.
func (r *run) Send(ctx context.Context, _ string, msgs []producer.Message) ([]producer.Result, error) {
	r.sendCalls.Add(1)
	if r.cfg.Batch == 1 && len(msgs) == 1 {
		if err := r.api.SendMessage(ctx, r.queueURL, msgs[0].Body); err != nil {
			r.errs.Add(1)
			return nil, sendError(err)
		}
		r.sentNow(1)
		return []producer.Result{{}}, nil
	}
	entries := make([]SendEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = SendEntry{ID: strconv.Itoa(i), Body: m.Body}
	}
	failed, err := r.api.SendMessageBatch(ctx, r.queueURL, entries)
	if err != nil {
		r.errs.Add(1)
		return nil, sendError(err)
	}
	res := make([]producer.Result, len(msgs))
	for _, f := range failed {
		i, err := strconv.Atoi(f.ID)
		if err != nil || i < 0 || i >= len(msgs) || res[i].Err != nil {
			return nil, fmt.Errorf("SendMessageBatch: a failed entry with an id this run did not send: %q", f.ID)
		}
		res[i].Err = producer.NewError(f.Code, f.Message, !f.SenderFault)
		r.errs.Add(1)
	}
	r.sentNow(len(msgs) - len(failed))
	return res, nil
}

func (r *run) sentNow(n int) {
	r.sent.Add(int64(n))
	storeMax(&r.lastSendNanos, int64(time.Since(r.start)))
}

// sendError makes a failed send call a *producer.Error with the HTTP
// status of the endpoint's answer (429 and 5xx are retried), or a
// retryable 503 for a call that got no answer (a lost connection, a
// timeout).
func sendError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return &producer.Error{Status: ae.StatusCode, Code: ae.Code, Message: ae.Message}
	}
	var se smithy.APIError
	var re *awshttp.ResponseError
	if errors.As(err, &se) && errors.As(err, &re) {
		return &producer.Error{Status: re.HTTPStatusCode(), Code: se.ErrorCode(), Message: se.ErrorMessage()}
	}
	return &producer.Error{Status: 503, Code: producer.CodeServiceUnavailable, Message: err.Error()}
}

// receive receives and deletes until ctx ends, and returns the end-to-end
// latency of each first delivery it saw.
func (r *run) receive(ctx context.Context) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, r.cfg.Messages/r.cfg.Receivers+16)
	var handles []string
	for ctx.Err() == nil {
		r.recvCalls.Add(1)
		msgs, err := r.api.ReceiveMessage(ctx, r.queueURL, r.cfg.Batch, max(r.cfg.Wait, 0))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.errs.Add(1)
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		now := time.Now()
		if len(msgs) == 0 {
			r.emptyRecvs.Add(1)
			continue
		}
		handles = handles[:0]
		fresh := 0
		for _, m := range msgs {
			handles = append(handles, m.ReceiptHandle)
			seq, sent, ok := decodeBody(m.Body)
			if !ok || seq < 0 || seq >= len(r.seen) || m.Body[headerSize:] != r.pad {
				return lat, fmt.Errorf("received a message this run did not send: %.40q", m.Body)
			}
			if r.seen[seq].Swap(true) {
				r.dups.Add(1)
				continue
			}
			fresh++
			lat = append(lat, now.Sub(sent))
		}
		r.received.Add(int64(fresh))
		if err := r.delete(ctx, handles); err != nil {
			if ctx.Err() != nil {
				break
			}
			return lat, err
		}
		if r.deleted.Add(int64(fresh)) >= int64(r.cfg.Messages) {
			storeMax(&r.lastDeleteNanos, int64(time.Since(r.start)))
			r.allDeletedOnce.Do(func() { close(r.allDeleted) })
		}
	}
	return lat, nil
}

func (r *run) delete(ctx context.Context, handles []string) error {
	if r.cfg.SingleDeletes || (len(handles) == 1 && r.cfg.Batch == 1) {
		for i := range handles {
			err := r.retry(ctx, "DeleteMessage", func() error {
				r.deleteCalls.Add(1)
				return r.api.DeleteMessage(ctx, r.queueURL, handles[i])
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	pending := append([]string(nil), handles...)
	return r.retry(ctx, "DeleteMessageBatch", func() error {
		entries := make([]DeleteEntry, len(pending))
		for i := range pending {
			entries[i] = DeleteEntry{ID: strconv.Itoa(i), ReceiptHandle: pending[i]}
		}
		r.deleteCalls.Add(1)
		failed, err := r.api.DeleteMessageBatch(ctx, r.queueURL, entries)
		if err != nil {
			return err
		}
		if len(failed) == 0 {
			return nil
		}
		var next []string
		for _, f := range failed {
			i, err := strconv.Atoi(f.ID)
			if err != nil || i < 0 || i >= len(pending) {
				return fmt.Errorf("DeleteMessageBatch: a failed entry with an id this run did not send: %q", f.ID)
			}
			next = append(next, pending[i])
		}
		pending = next
		return errors.New("DeleteMessageBatch: " + failed[0].Code + ": " + failed[0].Message)
	})
}

func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}
