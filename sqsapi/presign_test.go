package sqsapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
)

// debianPython is Debian's Python with python3-boto3 1.26 (botocore 1.29),
// whose SQS client speaks the query protocol.
const debianPython = "/usr/bin/python3"

// needTool skips the test when a tool is missing, and fails it under CI.
func needTool(t *testing.T, path string, check ...string) {
	t.Helper()
	err := func() error {
		if _, err := os.Stat(path); err != nil {
			return err
		}
		if len(check) > 0 {
			return exec.Command(path, check...).Run()
		}
		return nil
	}()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required: %v", path, err)
	}
	t.Skipf("%s is not usable: %v", path, err)
}

// presignScript prints the URLs botocore presigns for each operation named
// in its arguments, as {"operation": "url"}.
const presignScript = `
import json, sys, boto3
a = json.loads(sys.argv[1])
c = boto3.client("sqs", endpoint_url=a["endpoint"], region_name="us-east-1",
                 aws_access_key_id=a["key"], aws_secret_access_key=a["secret"])
print(json.dumps({op: c.generate_presigned_url(op, Params=p, ExpiresIn=300) for op, p in a["ops"].items()}))
`

func presign(t *testing.T, endpoint, key, secret string, ops map[string]map[string]string) map[string]string {
	t.Helper()
	arg, _ := json.Marshal(map[string]any{"endpoint": endpoint, "key": key, "secret": secret, "ops": ops})
	out, err := exec.Command(debianPython, "-c", presignScript, string(arg)).Output()
	if err != nil {
		t.Fatalf("botocore presign: %v", err)
	}
	urls := map[string]string{}
	if err := json.Unmarshal(out, &urls); err != nil {
		t.Fatalf("botocore output %q: %v", out, err)
	}
	return urls
}

// A URL presigned for one action runs that action and no other: adding an
// X-Amz-Target header to it (which the signature does not cover) used to
// turn a presigned SendMessage into a ReceiveMessage, a PurgeQueue or a
// DeleteQueue of the same queue, and a presigned ListQueues on / into any
// action.
func TestPresignedURLRunsOnlyItsAction(t *testing.T) {
	t.Parallel()
	needTool(t, debianPython, "-c", "import boto3")
	ctx := context.Background()
	s := testserver.StartConfig(t, server.Config{Keys: map[string]string{"AKIDPRESIGN": "presign-secret"}})
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDPRESIGN", "presign-secret", "")})
	qurl := createQueue(t, ctx, c, "presigned", nil)
	urls := presign(t, s.URL(), "AKIDPRESIGN", "presign-secret", map[string]map[string]string{
		"send_message": {"QueueUrl": qurl, "MessageBody": "from a presigned URL"},
		"list_queues":  {},
	})

	do := func(u, target string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, u, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		if target != "" {
			req.Header.Set("X-Amz-Target", "AmazonSQS."+target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		// The JSON protocol's answer names its code in this header.
		return resp.StatusCode, resp.Header.Get("x-amzn-query-error") + " " + string(b)
	}

	for _, u := range []string{urls["send_message"], urls["list_queues"]} {
		for _, target := range []string{"ReceiveMessage", "PurgeQueue", "DeleteQueue", "ListQueues"} {
			code, body := do(u, target)
			if code != http.StatusForbidden || !strings.Contains(body, "SignatureDoesNotMatch") {
				t.Errorf("presigned %.60s... replayed as %s: %d %s", u, target, code, body)
			}
		}
	}
	// The URLs still do what they were signed for.
	if code, body := do(urls["send_message"], ""); code != 200 || !strings.Contains(body, "<MessageId>") {
		t.Fatalf("presigned SendMessage: %d %s", code, body)
	}
	if code, body := do(urls["list_queues"], ""); code != 200 || !strings.Contains(body, "presigned") {
		t.Fatalf("presigned ListQueues: %d %s", code, body)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &qurl, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil {
		t.Fatalf("the queue is gone: %v", err)
	}
	if n := attrs.Attributes["ApproximateNumberOfMessages"]; n != "1" {
		t.Fatalf("%s messages visible; want the one the presigned URL sent, neither received nor purged", n)
	}
}
