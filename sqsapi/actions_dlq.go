package sqsapi

import (
	"context"
	"encoding/base64"

	"github.com/qscale/qscale/queue"
)

func encodeToken(name string) string {
	if name == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", &queue.Error{Code: queue.ErrInvalidParameterValue, Message: "Invalid NextToken value."}
	}
	return string(b), nil
}

// ListDeadLetterSourceQueues

type listDLQSourcesInput struct {
	QueueUrl   string
	NextToken  string
	MaxResults *number
}

func listDLQSourcesQuery(f form, in *listDLQSourcesInput) (err error) {
	in.QueueUrl = f.str("QueueUrl")
	in.NextToken = f.str("NextToken")
	in.MaxResults, err = f.intp("MaxResults")
	return err
}

type listDLQSourcesOutput struct {
	QueueUrls []string `json:"queueUrls" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

func listDLQSources(ctx context.Context, c *call, in *listDLQSourcesInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max := queue.MaxListQueuesResults
	if in.MaxResults != nil {
		max = in.MaxResults.int()
		if err := queue.ListQueuesResultsRange.Check(int64(max)); err != nil {
			return nil, err
		}
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &listDLQSourcesOutput{QueueUrls: []string{}}
	for _, s := range c.h.e.DeadLetterSources(q) {
		if after != "" && s.Name() <= after {
			continue
		}
		if len(out.QueueUrls) == max {
			out.NextToken = encodeToken(lastName(out.QueueUrls))
			break
		}
		out.QueueUrls = append(out.QueueUrls, c.queueURL(s))
	}
	return out, nil
}

func lastName(urls []string) string {
	u := urls[len(urls)-1]
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' {
			return u[i+1:]
		}
	}
	return u
}

// Message move tasks

type startMoveTaskInput struct {
	SourceArn                    string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond *number
}

func startMoveTaskQuery(f form, in *startMoveTaskInput) (err error) {
	in.SourceArn = f.str("SourceArn")
	in.DestinationArn = f.str("DestinationArn")
	in.MaxNumberOfMessagesPerSecond, err = f.intp("MaxNumberOfMessagesPerSecond")
	return err
}

type startMoveTaskOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

func startMoveTask(ctx context.Context, c *call, in *startMoveTaskInput) (any, error) {
	if in.SourceArn == "" {
		return nil, missing("SourceArn")
	}
	rate := 0
	if in.MaxNumberOfMessagesPerSecond != nil {
		rate = in.MaxNumberOfMessagesPerSecond.int()
		if rate == 0 { // the engine reads 0 as unlimited; a client's 0 is refused
			return nil, queue.MoveRateRange.Check(0)
		}
	}
	h, err := c.h.e.StartMoveTask(ctx, in.SourceArn, in.DestinationArn, rate)
	if err != nil {
		return nil, err
	}
	return &startMoveTaskOutput{TaskHandle: h}, nil
}

type cancelMoveTaskInput struct {
	TaskHandle string
}

func cancelMoveTaskQuery(f form, in *cancelMoveTaskInput) error {
	in.TaskHandle = f.str("TaskHandle")
	return nil
}

type cancelMoveTaskOutput struct {
	ApproximateNumberOfMessagesMoved int64 `json:"ApproximateNumberOfMessagesMoved"`
}

func cancelMoveTask(ctx context.Context, c *call, in *cancelMoveTaskInput) (any, error) {
	if in.TaskHandle == "" {
		return nil, missing("TaskHandle")
	}
	n, err := c.h.e.CancelMoveTask(in.TaskHandle)
	if err != nil {
		return nil, err
	}
	return &cancelMoveTaskOutput{ApproximateNumberOfMessagesMoved: n}, nil
}

type listMoveTasksInput struct {
	SourceArn  string
	MaxResults *number
}

func listMoveTasksQuery(f form, in *listMoveTasksInput) (err error) {
	in.SourceArn = f.str("SourceArn")
	in.MaxResults, err = f.intp("MaxResults")
	return err
}

type moveTaskEntry struct {
	TaskHandle                        string `json:"TaskHandle,omitempty" xml:",omitempty"`
	Status                            string `json:"Status"`
	SourceArn                         string `json:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty" xml:",omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty" xml:",omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove int64  `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason                     string `json:"FailureReason,omitempty" xml:",omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp"`
}

type listMoveTasksOutput struct {
	Results []moveTaskEntry `json:"Results" xml:"ListMessageMoveTasksResultEntry"`
}

func listMoveTasks(ctx context.Context, c *call, in *listMoveTasksInput) (any, error) {
	if in.SourceArn == "" {
		return nil, missing("SourceArn")
	}
	max := 0
	if in.MaxResults != nil {
		max = in.MaxResults.int()
		if max == 0 { // the engine reads 0 as unset; a client's 0 is refused
			return nil, queue.MoveTasksResultsRange.Check(0)
		}
	}
	tasks, err := c.h.e.ListMoveTasks(in.SourceArn, max)
	if err != nil {
		return nil, err
	}
	out := &listMoveTasksOutput{Results: []moveTaskEntry{}}
	for _, t := range tasks {
		e := moveTaskEntry{TaskHandle: t.Handle, Status: t.Status, SourceArn: t.SourceARN, DestinationArn: t.DestinationARN,
			ApproximateNumberOfMessagesMoved: t.Moved, ApproximateNumberOfMessagesToMove: t.ToMove,
			FailureReason: t.FailureReason, StartedTimestamp: t.StartedAt.UnixMilli()}
		if t.MaxPerSecond > 0 {
			r := t.MaxPerSecond
			e.MaxNumberOfMessagesPerSecond = &r
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}
