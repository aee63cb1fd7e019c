// Package peekapi is qscale's message browser on HTTP: the admin API that
// lists and peeks at a queue's messages without receiving them (package
// queue's Peek), served by `qscale server`'s admin listener and by the
// dashboard, and the client `qscale messages` calls it with. It is not
// part of the SQS API: Amazon SQS has no way to look at a message without
// receiving it.
//
//	GET {prefix}{queue}/messages?after=CURSOR&limit=N   -> queue.PeekPage
//	GET {prefix}{queue}/messages/{id}                   -> queue.PeekedMessage
//
// Errors are JSON {"error": message, "code": SQS code}, with the status of
// the queue engine's one error table.
package peekapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/qscale/qscale/queue"
)

// Peeker reads messages without receiving them. An implementation that
// cannot peek (a queue in Amazon SQS) returns ErrUnsupported, wrapped.
type Peeker interface {
	Peek(ctx context.Context, queue string, o queue.PeekOptions) (queue.PeekPage, error)
	PeekMessage(ctx context.Context, queue, id string) (queue.PeekedMessage, error)
}

// ErrUnsupported says the queue's server cannot show messages without
// receiving them (Amazon SQS): 501.
var ErrUnsupported = errors.New("peeking is not available for this queue: Amazon SQS has no way to look at a message without receiving it, which would count a receive and hide it")

// Unsupported is the Peeker of a server that cannot peek: every call
// answers ErrUnsupported.
var Unsupported Peeker = unsupported{}

type unsupported struct{}

func (unsupported) Peek(context.Context, string, queue.PeekOptions) (queue.PeekPage, error) {
	return queue.PeekPage{}, ErrUnsupported
}

func (unsupported) PeekMessage(context.Context, string, string) (queue.PeekedMessage, error) {
	return queue.PeekedMessage{}, ErrUnsupported
}

// EnginePeeker is a Peeker over qscale's queue engine.
type EnginePeeker struct{ Engine *queue.Engine }

var _ Peeker = EnginePeeker{}

// Peek implements Peeker.
func (p EnginePeeker) Peek(ctx context.Context, name string, o queue.PeekOptions) (queue.PeekPage, error) {
	q, err := p.Engine.Queue(name)
	if err != nil {
		return queue.PeekPage{}, err
	}
	return q.Peek(ctx, o)
}

// PeekMessage implements Peeker.
func (p EnginePeeker) PeekMessage(ctx context.Context, name, id string) (queue.PeekedMessage, error) {
	q, err := p.Engine.Queue(name)
	if err != nil {
		return queue.PeekedMessage{}, err
	}
	return q.PeekMessage(ctx, id)
}

// maxCursorDigits bounds the cursor's text: a uint64 has at most 20.
const maxCursorDigits = 20

// ParseQuery decodes a page request's query: "after" (a cursor, a whole
// number, default 0) and "limit" (1..queue.MaxPeekLimit, default
// queue.DefaultPeekLimit). Each may appear once; other names are refused,
// so a misspelt parameter is not silently ignored.
func ParseQuery(v url.Values) (queue.PeekOptions, error) {
	var o queue.PeekOptions
	for name, vals := range v {
		if name != "after" && name != "limit" {
			return o, fmt.Errorf("unknown parameter %q: want after and limit", cut(name))
		}
		if len(vals) != 1 {
			return o, fmt.Errorf("parameter %q given %d times", name, len(vals))
		}
	}
	if s := v.Get("after"); s != "" {
		if len(s) > maxCursorDigits {
			return o, fmt.Errorf("after %q: want the cursor of a page (a whole number)", cut(s))
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return o, fmt.Errorf("after %q: want the cursor of a page (a whole number)", cut(s))
		}
		o.After = n
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > queue.MaxPeekLimit || len(s) > 3 {
			return o, fmt.Errorf("limit %q: want a whole number from 1 to %d", cut(s), queue.MaxPeekLimit)
		}
		o.Limit = n
	}
	return o, nil
}

// cut shortens s for an error message.
func cut(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
