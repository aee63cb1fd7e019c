package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/queue"
)

// EnsureQueues makes e hold the queues qs declares (qscale server
// --queues, qscale up's queues:): a missing queue is created with its
// attributes and tags; an existing one gets them set (attributes and tags
// not listed are left as they are). A RedrivePolicy's deadLetterTargetArn
// may name a queue instead of giving its ARN; dead-letter queues declared
// in qs are made before the queues that use them, whatever the order of
// the list. An error names the queue's place in the list.
func EnsureQueues(ctx context.Context, e *queue.Engine, qs []config.Queue) error {
	if err := config.ValidateQueues(qs); err != nil {
		return err
	}
	order, err := dlqOrder(e, qs)
	if err != nil {
		return err
	}
	for _, i := range order {
		qc := qs[i]
		attrs, err := resolveRedrive(e, qc.Attributes)
		if err != nil {
			return fmt.Errorf("queues[%d].attributes.RedrivePolicy: %w", i, err)
		}
		q, err := e.Queue(qc.Name)
		if err != nil {
			if _, err := e.CreateQueue(ctx, qc.Name, attrs, qc.Tags); err != nil {
				return fmt.Errorf("queues[%d] (%s): create: %w", i, qc.Name, err)
			}
			continue
		}
		if len(attrs) > 0 {
			if err := q.SetAttributes(ctx, attrs); err != nil {
				return fmt.Errorf("queues[%d] (%s): set attributes: %w", i, qc.Name, err)
			}
		}
		if len(qc.Tags) > 0 {
			if err := q.Tag(ctx, qc.Tags); err != nil {
				return fmt.Errorf("queues[%d] (%s): tag: %w", i, qc.Name, err)
			}
		}
	}
	return nil
}

// dlqOrder returns the indexes of qs with every queue after the
// dead-letter queue its RedrivePolicy names, when that one is in qs too;
// otherwise in the list's order. A cycle is an error.
func dlqOrder(e *queue.Engine, qs []config.Queue) ([]int, error) {
	index := make(map[string]int, len(qs))
	for i, q := range qs {
		index[q.Name] = i
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(qs))
	order := make([]int, 0, len(qs))
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("queues[%d].attributes.RedrivePolicy: dead-letter queues form a cycle: %s", i, strings.Join(append(path, qs[i].Name), " -> "))
		}
		state[i] = visiting
		if target := redriveTarget(qs[i].Attributes); target != "" {
			name := target
			if strings.HasPrefix(target, "arn:") {
				name = target[strings.LastIndex(target, ":")+1:]
				if e.ARN(name) != target {
					name = "" // another account or region: not one of ours
				}
			}
			if j, ok := index[name]; ok && name != "" {
				if err := visit(j, append(path, qs[i].Name)); err != nil {
					return err
				}
			}
		}
		state[i] = done
		order = append(order, i)
		return nil
	}
	for i := range qs {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// redriveTarget returns the deadLetterTargetArn of a RedrivePolicy
// attribute, or "" when there is none (the engine reports a malformed
// policy).
func redriveTarget(attrs map[string]string) string {
	v := attrs[queue.AttrRedrivePolicy]
	if v == "" {
		return ""
	}
	var rp struct {
		Target string `json:"deadLetterTargetArn"`
	}
	if json.Unmarshal([]byte(v), &rp) != nil {
		return ""
	}
	return rp.Target
}

// resolveRedrive returns attrs with a RedrivePolicy whose
// deadLetterTargetArn is a queue's name rewritten to that queue's ARN.
// attrs itself is not changed.
func resolveRedrive(e *queue.Engine, attrs map[string]string) (map[string]string, error) {
	target := redriveTarget(attrs)
	if target == "" || strings.HasPrefix(target, "arn:") {
		return attrs, nil
	}
	var rp map[string]json.RawMessage
	if err := json.Unmarshal([]byte(attrs[queue.AttrRedrivePolicy]), &rp); err != nil {
		return nil, err
	}
	if !queue.ValidQueueName(target) {
		return nil, fmt.Errorf("deadLetterTargetArn %q is neither an ARN nor a queue's name", target)
	}
	if _, err := e.Queue(target); err != nil {
		return nil, fmt.Errorf("dead-letter queue %q does not exist and is not declared", target)
	}
	arn, _ := json.Marshal(e.ARN(target))
	rp["deadLetterTargetArn"] = arn
	policy, err := json.Marshal(rp)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		out[k] = v
	}
	out[queue.AttrRedrivePolicy] = string(policy)
	return out, nil
}
