package sqsconn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/internal/mototest"
	"github.com/qscale/qscale/internal/testserver"
	"github.com/qscale/qscale/server"
	"github.com/qscale/qscale/sqsconn"
	"github.com/qscale/qscale/worker/sqsclient"
)

// noAWSEnvironment clears every AWS setting a test's outcome depends on;
// the shared files point nowhere.
func noAWSEnvironment(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
}

func createQueue(t *testing.T, endpoint, name string) string {
	t.Helper()
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("create queue %s at %s: %v", name, endpoint, err)
	}
	return aws.ToString(out.QueueUrl)
}

// roundTrip sends a message with an attribute and receives it, with the
// SDK checking the MD5 of the body and attributes both ways.
func roundTrip(t *testing.T, api *sqs.Client, url string) {
	t.Helper()
	attrs := map[string]types.MessageAttributeValue{"tenant": {DataType: aws.String("String"), StringValue: aws.String("acme")}}
	if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("héllo"), MessageAttributes: attrs}); err != nil {
		t.Fatalf("send: %v", err)
	}
	out, err := api.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "héllo" {
		t.Fatalf("receive: %v, %+v", err, out)
	}
}

// A queue URL of a local server is all it takes: its host is the
// endpoint, the region the default, and the key the placeholder.
func TestQueueURLAloneReachesLocalServer(t *testing.T) {
	noAWSEnvironment(t)
	endpoint := testserver.Start(t)
	url := createQueue(t, endpoint, "jobs")
	api, ep, err := sqsconn.New(t.Context(), sqsconn.Options{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != endpoint || ep.Source != sqsconn.FromQueueURL || ep.Region != sqsconn.DefaultRegion || ep.AWS {
		t.Fatalf("endpoint %s region %q", ep, ep.Region)
	}
	creds, err := api.Options().Credentials.Retrieve(t.Context())
	if err != nil || creds.Source != sqsconn.PlaceholderSource {
		t.Fatalf("credentials %+v, %v; want the placeholder", creds, err)
	}
	roundTrip(t, api, url)
}

// Configured credentials are used for a local endpoint too: a server with
// access keys accepts them, and refuses the placeholder.
func TestConfiguredCredentialsSignLocalCalls(t *testing.T) {
	noAWSEnvironment(t)
	s := testserver.StartConfig(t, server.Config{Keys: map[string]string{"AKIDQSCALETEST": "test-secret"}})
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDQSCALETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	url := createQueue(t, s.URL(), "signed")
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, api, url)

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	anon, _, err := sqsconn.New(t.Context(), sqsconn.Options{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: &url})
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("a server with keys answered the placeholder key with %v, want an AWS error", err)
	}
}

// With AWS_ENDPOINT_URL_SQS set, the worker's queue and the autoscaler's
// queue source reach the same endpoint for the same queue URL: the one the
// environment names, not the queue URL's host. Without it, both reach the
// queue URL's host.
func TestWorkerAndAutoscalerReachTheSameEndpoint(t *testing.T) {
	noAWSEnvironment(t)
	named := testserver.Start(t) // holds the queue
	other := testserver.Start(t) // in the queue URL, has no such queue
	createQueue(t, named, "jobs")
	url := strings.Replace(createQueue(t, other, "elsewhere"), "elsewhere", "jobs", 1)

	check := func(wantEndpoint string, wantOK bool) {
		t.Helper()
		q, _, err := sqsclient.Dial(t.Context(), sqsclient.Options{QueueURL: url})
		if err != nil {
			t.Fatal(err)
		}
		src, err := sqssource.FromConfig(t.Context(), autoscale.QueueConfig{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		if q.Endpoint() != src.Endpoint() || q.Endpoint().URL != wantEndpoint {
			t.Fatalf("worker: %s, autoscaler: %s; want both %s", q.Endpoint(), src.Endpoint(), wantEndpoint)
		}
		_, werr := q.Check(t.Context())
		_, aerr := src.Observe(t.Context())
		if (werr == nil) != wantOK || (aerr == nil) != wantOK {
			t.Fatalf("worker check: %v, autoscaler observe: %v; want success %v for both", werr, aerr, wantOK)
		}
	}
	check(other, false)
	t.Setenv("AWS_ENDPOINT_URL_SQS", named)
	check(named, true)
	t.Setenv("AWS_ENDPOINT_URL_SQS", "")
	t.Setenv("AWS_ENDPOINT_URL", named)
	check(named, true)
}

// The client checks the MD5 of what it sends and receives: an endpoint
// that answers a wrong MD5 fails the call.
func TestClientChecksMD5(t *testing.T) {
	noAWSEnvironment(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"00000000000000000000000000000000"}`))
	}))
	t.Cleanup(hs.Close)
	api, _, err := sqsconn.New(t.Context(), sqsconn.Options{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(hs.URL + "/1/q"), MessageBody: aws.String("x")})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "md5") {
		t.Fatalf("send with a wrong MD5 in the answer: %v, want an MD5 error", err)
	}
}

// Against moto, another SQS implementation: its queue URL alone reaches
// it, with the placeholder key and MD5 checks on.
func TestMotoQueueURLAlone(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil && os.Getenv("CI") == "true" {
		t.Fatal("moto_server is not on PATH, and CI=true: this test must run")
	}
	endpoint := mototest.StartT(t) // before the environment is cleared: moto reads it too
	noAWSEnvironment(t)
	url := createQueue(t, endpoint, "jobs")
	api, ep, err := sqsconn.New(t.Context(), sqsconn.Options{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Source != sqsconn.FromQueueURL || ep.AWS {
		t.Fatalf("endpoint %s", ep)
	}
	roundTrip(t, api, url)
	src, err := sqssource.FromConfig(t.Context(), autoscale.QueueConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := src.Observe(t.Context()); err != nil || st.InFlight != 1 {
		t.Fatalf("observe: %+v, %v; want 1 in flight", st, err)
	}
}

// AWSConfig, for the other AWS APIs: placeholder credentials and the
// default region for an emulator, the host's region for an AWS endpoint.
func TestAWSConfig(t *testing.T) {
	noAWSEnvironment(t)
	ctx := context.Background()
	cfg, err := sqsconn.AWSConfig(ctx, "", "http://127.0.0.1:5000", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.Source != sqsconn.PlaceholderSource || cfg.Region != sqsconn.DefaultRegion {
		t.Fatalf("emulator: region %q, credentials %+v, %v", cfg.Region, creds, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDQSCALETEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	cfg, err = sqsconn.AWSConfig(ctx, "", "https://ecs.ap-southeast-2.amazonaws.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds, err = cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKIDQSCALETEST" || cfg.Region != "ap-southeast-2" {
		t.Fatalf("AWS: region %q, credentials %+v, %v", cfg.Region, creds, err)
	}
	if _, err := sqsconn.AWSConfig(ctx, "", "localhost:5000", nil); err == nil {
		t.Fatal("an endpoint without a scheme was accepted")
	}
}
