package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/qscalebin"
	"github.com/qscale/qscale/queue"
)

// messagesServer runs `qscale server` as a process with an admin token and
// returns its SQS endpoint and admin listener URLs.
func messagesServer(t *testing.T) (endpoint, admin string) {
	t.Helper()
	adminFile := filepath.Join(t.TempDir(), "admin")
	p, addr := startServer(t, "--in-memory", "--admin-addr-file", adminFile, "--admin-token", "t0k")
	return "http://" + addr, "http://" + strings.TrimSpace(string(p.WaitFile(t, adminFile, 30*time.Second, nil)))
}

// messagesRun runs the qscale binary and returns its output and exit code.
func messagesRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(qscalebin.Path(t), args...)
	cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=secret", "QSCALE_ADMIN_TOKEN=", "QSCALE_ADMIN_URL=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("qscale %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// Three messages fail into a dead-letter queue; `qscale messages` lists
// and peeks at them without changing their receive counts, then redrives
// them back to their queue.
func TestMessagesCommand(t *testing.T) {
	t.Parallel()
	endpoint, admin := messagesServer(t)
	ctx := t.Context()
	api := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	work, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:work-dlq","maxReceiveCount":"1"}`}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: work.QueueUrl, MessageBody: aws.String("job " + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// Each is received once and given back at once; the next receive
	// finds it over maxReceiveCount and moves it.
	for received := 0; received < 3; {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: work.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if _, err := api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: work.QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
		}
		received += len(out.Messages)
	}
	if out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: work.QueueUrl, MaxNumberOfMessages: 10}); err != nil || len(out.Messages) != 0 {
		t.Fatalf("the failed messages were received again: %v %v", out, err)
	}
	counts := func(url *string) (visible, inflight int) {
		t.Helper()
		out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url,
			AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		if err != nil {
			t.Fatal(err)
		}
		visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
		inflight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
		return visible, inflight
	}
	if v, _ := counts(dlq.QueueUrl); v != 3 {
		t.Fatalf("dead-letter queue holds %d, want 3", v)
	}

	// Without the token the admin listener refuses, and the command says why.
	_, stderr, code := messagesRun(t, "messages", "list", "work-dlq", "--admin", admin)
	if code != 1 || !strings.Contains(stderr, "token") {
		t.Fatalf("list without the token: exit %d, %s", code, stderr)
	}

	stdout, stderr, code := messagesRun(t, "messages", "list", "work-dlq", "--admin", admin, "--admin-token", "t0k", "--limit", "2")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "3 visible, 0 in flight") || strings.Count(stdout, "visible  ") < 2 || !strings.Contains(stdout, "job 0") ||
		!strings.Contains(stdout, "more: qscale messages list work-dlq --after ") {
		t.Fatalf("list output:\n%s", stdout)
	}
	next := stdout[strings.LastIndex(stdout, "--after ")+len("--after "):]
	stdout, stderr, code = messagesRun(t, "messages", "--admin", admin, "--admin-token", "t0k", "list", "work-dlq", "--after", strings.TrimSpace(next), "--json")
	if code != 0 {
		t.Fatalf("list --after: exit %d: %s", code, stderr)
	}
	var page queue.PeekPage
	if err := json.Unmarshal([]byte(stdout), &page); err != nil {
		t.Fatalf("list --json: %v\n%s", err, stdout)
	}
	if len(page.Messages) != 1 || page.Messages[0].Body != "job 2" || page.Messages[0].ReceiveCount != 1 || page.Next != 0 {
		t.Fatalf("second page: %+v", page)
	}
	if !strings.HasSuffix(page.Messages[0].DeadLetterSource, ":work") {
		t.Errorf("dead-letter source %q", page.Messages[0].DeadLetterSource)
	}
	stdout, stderr, code = messagesRun(t, "messages", "peek", "work-dlq", page.Messages[0].ID, "--admin", admin, "--admin-token", "t0k")
	if code != 0 || !strings.Contains(stdout, "ReceiveCount") || !strings.HasSuffix(stdout, "\njob 2\n") {
		t.Fatalf("peek: exit %d\n%s%s", code, stdout, stderr)
	}
	if v, f := counts(dlq.QueueUrl); v != 3 || f != 0 {
		t.Fatalf("after browsing the dead-letter queue: %d visible, %d in flight; want 3, 0", v, f)
	}

	stdout, stderr, code = messagesRun(t, "messages", "redrive", "work-dlq", "--endpoint-url", endpoint, "--poll", "20ms")
	if code != 0 || !strings.Contains(stdout, "COMPLETED: moved 3 of 3") {
		t.Fatalf("redrive: exit %d\n%s%s", code, stdout, stderr)
	}
	if v, _ := counts(dlq.QueueUrl); v != 0 {
		t.Errorf("dead-letter queue holds %d after the redrive", v)
	}
	if v, _ := counts(work.QueueUrl); v != 3 {
		t.Errorf("work holds %d after the redrive, want 3", v)
	}

	// --to sends them elsewhere, at a rate.
	retry, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("retry")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: dlq.QueueUrl, MessageBody: aws.String("late")}); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = messagesRun(t, "messages", "redrive", aws.ToString(dlq.QueueUrl), "--to", "retry", "--rate", "10", "--poll", "20ms")
	if code != 0 || !strings.Contains(stdout, "COMPLETED: moved 1 of 1") || !strings.Contains(stderr, "to retry") {
		t.Fatalf("redrive --to: exit %d\n%s%s", code, stdout, stderr)
	}
	if v, _ := counts(retry.QueueUrl); v != 1 {
		t.Errorf("retry holds %d after the redrive, want 1", v)
	}
}

func TestMessagesCommandUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"messages"}, {"messages", "frob", "q"}, {"messages", "list"}, {"messages", "peek", "q"},
		{"messages", "list", "q", "--limit", "101"}, {"messages", "list", "bad/name"}, {"messages", "redrive", "q", "--rate", "0x"},
	} {
		if _, stderr, code := messagesRun(t, args...); code != 2 || !strings.Contains(stderr, "qscale messages:") {
			t.Errorf("%v: exit %d, %s; want 2 and a usage message", args, code, stderr)
		}
	}
}
