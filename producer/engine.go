package producer

import (
	"context"

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
	if err := queue.CheckBatchCount("message", len(msgs)); err != nil {
		return nil, engineError(err)
	}
	q, err := s.engine.Queue(name)
	if err != nil {
		return nil, engineError(err)
	}
	ins := make([]queue.SendInput, len(msgs))
	for i, m := range msgs {
		in := queue.SendInput{Body: m.Body, GroupID: m.GroupID, DedupID: m.DedupID}
		if m.DelaySeconds != nil {
			d, err := queue.DelaySecondsRange.Duration(int64(*m.DelaySeconds))
			if err != nil {
				return nil, engineError(err) // Decode refuses it first
			}
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
	if len(ins) > 1 {
		if err := q.CheckSendBatch(ins); err != nil {
			return nil, engineError(err)
		}
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
