package e2e

import (
	"crypto/md5"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSeedWorkers runs typical users' Python workers (a boto3 worker.py and
// seed 001's app.py, in e2e/python as published) against the server under
// both boto3 versions: the only change is the endpoint, given in
// AWS_ENDPOINT_URL_SQS. Each must receive and delete every message sent.
func TestSeedWorkers(t *testing.T) {
	t.Parallel()
	for _, py := range []struct{ name, python string }{
		{"debian-boto3", debianPython},
		{"pyenv-boto3", pyenvTool("python3")},
	} {
		for _, seed := range []struct {
			name, script, queue string
			logsIDs             bool // prints "Finished for MessageId: ID" per message
		}{
			{"seed000-worker", "python/seed000_worker.py", "qiita-sqs", false},
			{"seed001-app", "python/seed001_app.py", "EcsScalingBySqsStack-queue", true},
		} {
			t.Run(py.name+"/"+seed.name, func(t *testing.T) {
				t.Parallel()
				needBoto3(t, py.python, py.name)
				s := startServer(t)
				url := sqsJSON(t, s, "CreateQueue", map[string]any{"QueueName": seed.queue})["QueueUrl"].(string)
				const n = 25
				var ids []string
				for b := 0; b < n; b += 10 {
					var entries []map[string]any
					for i := b; i < min(b+10, n); i++ {
						entries = append(entries, map[string]any{"Id": fmt.Sprint("m", i), "MessageBody": fmt.Sprint("work item ", i)})
					}
					out := sqsJSON(t, s, "SendMessageBatch", map[string]any{"QueueUrl": url, "Entries": entries})
					for _, e := range out["Successful"].([]any) {
						ids = append(ids, e.(map[string]any)["MessageId"].(string))
					}
				}
				if len(ids) != n {
					t.Fatalf("sent %d of %d messages", len(ids), n)
				}

				worker := exec.Command(py.python, "python/seed_runner.py", seed.script)
				worker.Dir = e2eDir()
				worker.Env = clientEnv(s)
				var out lockedBuffer
				worker.Stdout = &out
				worker.Stderr = &out
				if err := worker.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- worker.Wait() }()
				t.Cleanup(func() {
					// These workers loop forever: stop this one by its PID.
					_ = syscall.Kill(worker.Process.Pid, syscall.SIGKILL)
					<-exited
				})

				deadline := time.Now().Add(60 * time.Second)
				for {
					a := sqsJSON(t, s, "GetQueueAttributes", map[string]any{"QueueUrl": url, "AttributeNames": []string{"All"}})["Attributes"].(map[string]any)
					drained := a["ApproximateNumberOfMessages"] == "0" && a["ApproximateNumberOfMessagesNotVisible"] == "0"
					missing := 0
					if seed.logsIDs {
						log := out.String()
						for _, id := range ids {
							if !strings.Contains(log, "Finished for MessageId: "+id) {
								missing++
							}
						}
					}
					if drained && missing == 0 {
						break
					}
					select {
					case err := <-exited:
						t.Fatalf("worker exited: %v\n%s", err, out.String())
					case <-time.After(100 * time.Millisecond):
					}
					if time.Now().After(deadline) {
						t.Fatalf("worker did not process every message within 60s (attributes %v, %d ids not logged):\n%s", a, missing, out.String())
					}
				}
				t.Logf("%s processed and deleted %d messages; worker log starts:\n%s", seed.name, n, firstLines(out.String(), 3))
			})
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// TestSeedProducerRequest sends what seed 001's API Gateway integration
// sends for GET /queue?message=...: a form-encoded query-protocol
// SendMessage POSTed to the queue's path, with no QueueUrl parameter.
func TestSeedProducerRequest(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	url := sqsJSON(t, s, "CreateQueue", map[string]any{"QueueName": "EcsScalingBySqsStack-queue"})["QueueUrl"].(string)
	body := "Action=SendMessage&MessageBody=" + neturl.QueryEscape("test message")
	resp, err := http.Post(s.Endpoint+"/000000000000/EcsScalingBySqsStack-queue", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Result struct {
			MessageID string `xml:"MessageId"`
			MD5       string `xml:"MD5OfMessageBody"`
		} `xml:"SendMessageResult"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
	}
	if err := xml.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if want := fmt.Sprintf("%x", md5.Sum([]byte("test message"))); out.Result.MD5 != want || out.Result.MessageID == "" {
		t.Fatalf("SendMessageResult %+v, want MD5 %s and a MessageId: %s", out.Result, want, b)
	}
	got := sqsJSON(t, s, "ReceiveMessage", map[string]any{"QueueUrl": url})["Messages"].([]any)
	if m := got[0].(map[string]any); m["Body"] != "test message" || m["MessageId"] != out.Result.MessageID {
		t.Fatalf("received %v, want the message sent through the queue path", m)
	}
}
