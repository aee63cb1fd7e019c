package workerprom

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/worker"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := New(reg, "q1")
	msg := &worker.Message{ID: "a"}
	m.Started(msg)
	m.Started(msg)
	m.Finished(msg, 20*time.Millisecond, nil)
	m.Finished(msg, 3*time.Second, errors.New("boom"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	hist := map[string]uint64{}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["queue"] != "q1" {
				t.Fatalf("%s without the queue label", mf.GetName())
			}
			switch {
			case s.Counter != nil:
				got[mf.GetName()] = s.GetCounter().GetValue()
			case s.Gauge != nil:
				got[mf.GetName()] = s.GetGauge().GetValue()
			case s.Histogram != nil:
				hist[labels["outcome"]] = s.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[string]float64{
		"qscale_worker_messages_started_total":   2,
		"qscale_worker_messages_succeeded_total": 1,
		"qscale_worker_messages_failed_total":    1,
		"qscale_worker_messages_in_flight":       0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if hist["success"] != 1 || hist["failure"] != 1 {
		t.Errorf("histogram samples %v", hist)
	}
}

// A worker given its queue's URL labels its series with the queue's name,
// the label qscale up's, qscale server's and the autoscaler's series carry,
// so that one query joins a queue's backlog with its workers' work.
func TestQueueLabelIsTheName(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	New(reg, "http://127.0.0.1:9324/000000000000/jobs")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "queue" && l.GetValue() != "jobs" {
					t.Errorf("%s: queue=%q, want jobs", mf.GetName(), l.GetValue())
				}
			}
		}
	}
	for in, want := range map[string]string{
		"jobs": "jobs",
		"https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo": "orders.fifo",
		"http://127.0.0.1:9324/000000000000/jobs/":                     "jobs",
		"http://127.0.0.1:9324/":                                       "http://127.0.0.1:9324/",
	} {
		if got := QueueName(in); got != want {
			t.Errorf("QueueName(%q) = %q, want %q", in, got, want)
		}
	}
}
