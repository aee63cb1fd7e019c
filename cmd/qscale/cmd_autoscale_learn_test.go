package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/qscalebin"
)

// qscale autoscale against moto's SQS (which, like Amazon SQS, reports no
// processing time and no rates), with a local fleet of qscale worker
// processes whose handler takes 200 ms: the decisions show the processing
// time the controller learned from the workers' status documents, 0.2 s
// within 20 %, and the queueing policy sizes the fleet from it.
func TestAutoscaleLearnsProcessingTimeOnMoto(t *testing.T) {
	moto := mototest.StartT(t)
	api := sqsClient(moto)
	q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("learn")})
	if err != nil {
		t.Fatal(err)
	}
	url := *q.QueueUrl
	path := writeConfig(t, "learn.yaml", fmt.Sprintf(`fleets:
  - queue: {url: %q, endpoint: %q, region: us-east-1}
    minCapacity: 1
    maxCapacity: 3
    interval: 500ms
    policies:
      - name: queueing
        queueing: {acceptableWait: 5s, defaultProcessingTime: 3s}
    local:
      command: [%q, worker, --queue-url, %q, --endpoint-url, %q, --wait, "1", --demo, 200ms]
`, url, moto, qscalebin.Path(t), url, moto))
	p := startAutoscale(t, path)

	send := time.NewTicker(250 * time.Millisecond) // about 4 messages a second
	defer send.Stop()
	deadline := time.After(90 * time.Second)
	var last time.Duration
	for {
		select {
		case <-send.C:
			if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("job")}); err != nil {
				t.Fatal(err)
			}
			ds := p.decisions(t)
			if len(ds) == 0 {
				continue
			}
			last = ds[0].Observation.Queue.ProcessingTime
			measured := ""
			for _, pr := range ds[0].Proposals {
				if pr.Policy == "queueing" && strings.Contains(pr.Reason, "per message (measured)") {
					measured = pr.Reason
				}
			}
			if last >= 160*time.Millisecond && last <= 240*time.Millisecond && measured != "" {
				t.Logf("learned %v per message on moto's SQS; queueing: %s", last, measured)
				return
			}
		case <-deadline:
			t.Fatalf("no decision within 90s showed a learned processing time of 200ms ± 20%%; last %v\n%s", last, p.output())
		}
	}
}
