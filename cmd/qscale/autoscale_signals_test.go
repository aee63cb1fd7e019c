package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

const ageAlarm = `    policies:
      - name: stale
        scaleOnMetric:
          metric: ApproximateAgeOfOldestMessage
          adjustmentType: ChangeInCapacity
          steps:
            - {upper: 10, change: -1}
            - {lower: 60, change: +2}
    memory: {}
`

// A step alarm on the oldest message's age against Amazon SQS is refused
// by --check, naming the signal and what to do; against a qscale server
// it is accepted.
func TestAutoscaleCheckRefusesAgeAlarmOnAmazonSQS(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "age.yaml", `fleets:
  - queue: {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}
    maxCapacity: 10
`+ageAlarm)
	var out bytes.Buffer
	err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatalf("--check accepted an age alarm on Amazon SQS: %s", out.String())
	}
	for _, w := range []string{"fleets[0].policies[0] (stale)", "ApproximateAgeOfOldestMessage", "Amazon SQS", "qscale server", "docs/sqs-compatibility.md"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}

	path = writeConfig(t, "age-qscale.yaml", `fleets:
  - queue: {url: "http://127.0.0.1:9324/000000000000/jobs"}
    maxCapacity: 10
`+ageAlarm)
	out.Reset()
	if err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("an age alarm on a qscale server: %v", err)
	}
}

// With source.cloudWatchAge the same alarm on Amazon SQS is accepted: the
// age comes from CloudWatch. Without it, the refusal says how to get it.
func TestAutoscaleCheckAcceptsAgeAlarmWithCloudWatchAge(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "age-cw.yaml", `fleets:
  - queue: {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}
    source: {cloudWatchAge: true}
    maxCapacity: 10
`+ageAlarm)
	var out bytes.Buffer
	if err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("an age alarm with source.cloudWatchAge: %v", err)
	}
	path = writeConfig(t, "age-two.yaml", `fleets:
  - queues: [{url: "http://127.0.0.1:9324/000000000000/jobs"}, {url: "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}]
    maxCapacity: 10
`+ageAlarm)
	err := autoscaleRun(t.Context(), autoscaleOptions{config: path, check: true, out: &out}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "source: {cloudWatchAge: true}") || !strings.Contains(err.Error(), "Amazon SQS") {
		t.Fatalf("an age alarm over a qscale queue and an Amazon SQS one: %v; want the Amazon one refused with the remedy", err)
	}
}
