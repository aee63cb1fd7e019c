package sqsbackend_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/memfleet"
	"github.com/qscale/qscale/autoscale/policy"
	"github.com/qscale/qscale/autoscale/queueset"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/dashboard/sqsbackend"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/internal/testserver"
)

// reporting is a fleet whose workers' status documents say one is busy
// and one idle, as a Kubernetes, ECS or EC2 fleet reads them.
type reporting struct{ *memfleet.Fleet }

func (r reporting) State(ctx context.Context) (autoscale.FleetState, error) {
	st, err := r.Fleet.State(ctx)
	st.Sensors = &autoscale.Sensors{Workers: []autoscale.WorkerCounters{{ID: "pod-a", InFlight: 1}, {ID: "pod-b"}}}
	st.Reporting = 2
	return st, err
}

// With no Workers function, the Workers table lists the workers whose
// status documents the fleet read at the last observation; a fleet of two
// queues lists both in the queues table.
func TestWorkersFromStatusDocumentsAndTwoQueues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	api := testserver.Client(testserver.Start(t))
	var queues []sqsbackend.Queue
	var members []queueset.Member
	for _, name := range []string{"a", "b"} {
		q, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		queues = append(queues, sqsbackend.Queue{URL: *q.QueueUrl, API: api})
		members = append(members, queueset.Member{Name: name, Source: sqssource.New(api, *q.QueueUrl)})
		if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	src, err := queueset.New(queueset.Sum, members...)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	fleet := reporting{memfleet.New(clk, 0)}
	tt, _ := policy.NewTargetTracking("backlog", policy.TargetTrackingConfig{TargetValue: 4})
	ctrl, err := autoscale.New(autoscale.Options{Source: src, Fleet: fleet, Policies: []policy.Policy{tt}, Bounds: policy.Bounds{Max: 5}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	be, err := sqsbackend.New(sqsbackend.Config{Queues: queues, Source: src, Fleet: fleet, Controller: ctrl, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if ws := be.Workers(); ws != nil {
		t.Fatalf("workers before any observation: %+v", ws)
	}
	ctrl.Tick(ctx)
	ws := be.Workers()
	if len(ws) != 2 || ws[0].ID != "pod-a" || ws[0].State != "busy" || ws[1].ID != "pod-b" || ws[1].State != "idle" {
		t.Fatalf("workers %+v; want pod-a busy and pod-b idle", ws)
	}
	s, err := be.Sample(ctx)
	if err != nil || s.Queue != "" || len(s.Queues) != 2 || s.Queues[0].Name != "a" || s.Queues[0].Visible != 1 || s.Queues[1].Name != "b" || s.Queues[1].Visible != 1 || s.BacklogPerWorker != 2 {
		t.Fatalf("sample %+v, %v; want each queue's message on its row, charted together, a backlog of 2", s, err)
	}
	qs, err := be.Queues(ctx)
	if err != nil || len(qs) != 2 || qs[0].Name != "a" || qs[1].Name != "b" || qs[1].Attributes["ApproximateNumberOfMessages"] != "1" {
		t.Fatalf("queues %+v, %v", qs, err)
	}
}
