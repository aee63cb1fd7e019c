package producer

import (
	"context"
	"errors"
	"time"

	"github.com/qscale/qscale/queue"
)

// EngineSender sends to the embedded queue engine, in process.
type EngineSender struct {
	engine *queue.Engine
}

var _ Sender = (*EngineSender)(nil)

// NewEngineSender returns a Sender over e.
func NewEngineSender(e *queue.Engine) *EngineSender { return &EngineSender{engine: e} }

// Send sends msgs to the queue called name as one durable batch.
func (s *EngineSender) Send(ctx context.Context, name string, msgs []Message) ([]Result, error) {
	q, err := s.engine.Queue(name)
	if err != nil {
		return nil, engineError(err)
	}
	ins := make([]queue.SendInput, len(msgs))
	for i, m := range msgs {
		in := queue.SendInput{Body: m.Body, GroupID: m.GroupID, DedupID: m.DedupID}
		if m.DelaySeconds != nil {
			d := time.Duration(*m.DelaySeconds) * time.Second
			in.Delay = &d
		}
		if len(m.Attributes) > 0 {
			in.Attributes = make(map[string]queue.AttributeValue, len(m.Attributes))
			for k, a := range m.Attributes {
				in.Attributes[k] = queue.AttributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
			}
		}
		ins[i] = in
	}
	outs := q.SendBatch(ctx, ins)
	results := make([]Result, len(outs))
	for i, o := range outs {
		if o.Err != nil {
			results[i].Err = engineError(o.Err)
			continue
		}
		results[i] = Result{MessageID: o.Result.MessageID, SequenceNumber: o.Result.SequenceNumber}
	}
	return results, nil
}

// engineError maps an engine error to the endpoint's answer.
func engineError(err error) *Error {
	var qe *queue.Error
	if errors.As(err, &qe) {
		return NewError(string(qe.Code), qe.Message, qe.Code == queue.ErrInternal)
	}
	return NewError(CodeInternal, "The queue failed to store the message.", true)
}
