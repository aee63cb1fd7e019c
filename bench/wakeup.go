package bench

import (
	"context"
	"fmt"
	"time"
)

// WakeupConfig describes a long-poll wake-up run.
type WakeupConfig struct {
	QueueURL  string // use this queue (it must be empty); empty: create one and delete it afterwards
	QueueName string
	Samples   int // wake-ups to measure (default 200)
	// Parked, when set, is called before each receive starts and returns
	// a channel that is closed once the receive waits at the server as a
	// long poll (qscale's Queue.WaiterAdded, for an in-process server).
	// The message is sent only then, so every sample is a wake-up.
	Parked func() <-chan struct{}
	// Settle is how long the receiver waits at the server before the
	// message is sent when Parked is nil (default 20 ms): long enough for
	// its ReceiveMessage to be parked as a long poll on an endpoint that
	// gives no signal.
	Settle time.Duration
	// Progress, when set, is called after each sample.
	Progress func(done, total int)
}

// WakeupResult is what a wake-up run measured.
type WakeupResult struct {
	Endpoint string  `json:"endpoint,omitempty"`
	Samples  int     `json:"samples"`
	Wakeup   Latency `json:"wakeup"`    // send call start -> the waiting receive answered
	SendCall Latency `json:"send_call"` // how long the SendMessage call itself took
	Early    int     `json:"early"`     // receives answered before their send call returned
}

// Wakeup measures how fast a long-polling ReceiveMessage (WaitTimeSeconds
// 20) answers once a message is sent to its empty queue.
func Wakeup(ctx context.Context, api API, cfg WakeupConfig) (WakeupResult, error) {
	if cfg.Samples == 0 {
		cfg.Samples = 200
	}
	if cfg.Settle == 0 {
		cfg.Settle = 20 * time.Millisecond
	}
	if cfg.Samples < 1 {
		return WakeupResult{}, fmt.Errorf("samples must be at least 1, not %d", cfg.Samples)
	}
	queueURL := cfg.QueueURL
	if queueURL == "" {
		u, err := CreateQueue(ctx, api, cfg.QueueName)
		if err != nil {
			return WakeupResult{}, err
		}
		queueURL = u
		defer api.DeleteQueue(context.WithoutCancel(ctx), u)
	}
	type answer struct {
		at     time.Time
		handle string
		n      int
		err    error
	}
	var wake, send []time.Duration
	early := 0
	for i := range cfg.Samples {
		got := make(chan answer, 1)
		var parked <-chan struct{}
		if cfg.Parked != nil {
			parked = cfg.Parked()
		} else {
			parked = afterChan(cfg.Settle)
		}
		go func() {
			msgs, err := api.ReceiveMessage(ctx, queueURL, 1, 20)
			a := answer{at: time.Now(), err: err}
			if err == nil {
				a.n = len(msgs)
				if a.n > 0 {
					a.handle = msgs[0].ReceiptHandle
				}
			}
			got <- a
		}()
		select {
		case <-parked:
		case a := <-got:
			if a.err != nil {
				return WakeupResult{}, fmt.Errorf("sample %d: receive: %w", i, a.err)
			}
			return WakeupResult{}, fmt.Errorf("sample %d: the receive answered before a message was sent", i)
		case <-ctx.Done():
			return WakeupResult{}, ctx.Err()
		}
		start := time.Now()
		if err := api.SendMessage(ctx, queueURL, "wake-up"); err != nil {
			<-got
			return WakeupResult{}, fmt.Errorf("sample %d: send: %w", i, err)
		}
		sent := time.Now()
		a := <-got
		if a.err != nil {
			return WakeupResult{}, fmt.Errorf("sample %d: receive: %w", i, a.err)
		}
		if a.n != 1 {
			return WakeupResult{}, fmt.Errorf("sample %d: the long poll answered with %d messages", i, a.n)
		}
		if a.at.Before(sent) {
			early++
		}
		wake = append(wake, a.at.Sub(start))
		send = append(send, sent.Sub(start))
		if err := api.DeleteMessage(ctx, queueURL, a.handle); err != nil {
			return WakeupResult{}, fmt.Errorf("sample %d: delete: %w", i, err)
		}
		if cfg.Progress != nil {
			cfg.Progress(i+1, cfg.Samples)
		}
	}
	return WakeupResult{Samples: cfg.Samples, Wakeup: Percentiles(wake), SendCall: Percentiles(send), Early: early}, nil
}

// afterChan returns a channel closed after d.
func afterChan(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	time.AfterFunc(d, func() { close(c) })
	return c
}
