package helm

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/qscale/qscale/deploy/internal/chart"
	"github.com/qscale/qscale/internal/qscalebin"
)

// The qscale server as the chart runs it: the StatefulSet's container
// args, with the access key Kubernetes expands from the Secret, start the
// real binary; it declares the queues of its ConfigMap, verifies
// signatures (an unsigned or wrongly signed request is refused), and the
// queue's URL it hands out is the chart's default queue.url, which the
// workers and the autoscaler use. Only the listen address (loopback, a
// free port) and the two paths (temporary directories for the volume
// mounts) are changed.
func TestChartServerRunsAsRendered(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	docs, err := chart.Template(ctx, chart.NeedBin(t), t.TempDir(), chartDir, "qscale",
		"--set", "server.enabled=true", "--set", "server.accessKeySecret=qscale-access-key")
	if err != nil {
		t.Fatal(err)
	}
	var sts, queues *unstructured.Unstructured
	for _, d := range docs {
		switch id(d.Object) {
		case "StatefulSet/qscale-server":
			sts = d.Object
		case "ConfigMap/qscale-server":
			queues = d.Object
		}
	}
	if sts == nil || queues == nil {
		t.Fatal("no StatefulSet or queues ConfigMap qscale-server rendered")
	}
	containers, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	mounts := map[string]string{}
	vms, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
	for _, vm := range vms {
		vm := vm.(map[string]any)
		mounts[vm["name"].(string)] = vm["mountPath"].(string)
	}
	data, conf := t.TempDir(), t.TempDir()
	qdata, _, _ := unstructured.NestedStringMap(queues.Object, "data")
	for name, content := range qdata {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const id, secret = "jobs", "0123456789abcdef"
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret}
	dollar := regexp.MustCompile(`\$\(([A-Z_]+)\)`) // Kubernetes' $(VAR) in args
	addrFile := filepath.Join(t.TempDir(), "addr")
	var run []string
	for _, a := range args {
		a = dollar.ReplaceAllStringFunc(a, func(m string) string { return env[m[2:len(m)-1]] })
		a = strings.Replace(a, mounts["data"], data, 1)
		a = strings.Replace(a, mounts["queues"], conf, 1)
		if strings.HasPrefix(a, "--listen=") {
			a = "--listen=127.0.0.1:0"
		}
		run = append(run, a)
	}
	run = append(run, "--addr-file", addrFile, "--admin-listen", "off")
	if !strings.Contains(strings.Join(run, " "), "--access-key="+id+":"+secret) {
		t.Fatalf("the server's args %q take no access key from the Secret", args)
	}
	p := qscalebin.Start(t, nil, run...)
	addr := strings.TrimSpace(string(p.WaitFile(t, addrFile, 30*time.Second, nil)))
	client := func(id, secret string) *sqs.Client {
		return sqs.New(sqs.Options{
			Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
			Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
		})
	}
	got, err := client(id, secret).GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatalf("GetQueueUrl of the declared queue, signed with the Secret's key: %v", err)
	}
	values, err := chart.Helm(ctx, chart.NeedBin(t), t.TempDir(), "show", "values", chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "url: " + aws.ToString(got.QueueUrl); !strings.Contains(values, want) {
		t.Errorf("the server names its queue %s, which is not the chart's default queue.url (want %q in values.yaml)", aws.ToString(got.QueueUrl), want)
	}
	_, err = client(id, "wrong").GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("a request signed with the wrong secret: %v, want SignatureDoesNotMatch", err)
	}
}
