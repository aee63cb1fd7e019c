// Package awsdeploy checks the AWS deployment examples in this directory:
// the task definition registers, the IAM policies are valid documents, and
// each policy allows exactly the calls its qscale part makes.
package awsdeploy

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/qscale/qscale/autoscale/asgfleet"
	"github.com/qscale/qscale/autoscale/cwpublish"
	"github.com/qscale/qscale/autoscale/ecsfleet"
	"github.com/qscale/qscale/autoscale/fleets"
	"github.com/qscale/qscale/autoscale/sqssource"
	"github.com/qscale/qscale/config"
	"github.com/qscale/qscale/dashboard/sqsbackend"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worker's task definition registers with ECS (moto) as it is, and
// serves the status endpoint the fleet reads.
func TestWorkerTaskDefinitionRegisters(t *testing.T) {
	t.Parallel()
	endpoint := needMoto(t)
	var in ecs.RegisterTaskDefinitionInput
	dec := json.NewDecoder(bytes.NewReader(read(t, "worker-task-definition.json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("worker-task-definition.json is not a RegisterTaskDefinition request: %v", err)
	}
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	out, err := client.RegisterTaskDefinition(t.Context(), &in)
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if string(td.NetworkMode) != "awsvpc" || len(td.ContainerDefinitions) != 1 {
		t.Fatalf("registered %+v", td)
	}
	c := td.ContainerDefinitions[0]
	cmd := strings.Join(c.Command, " ")
	if !strings.HasPrefix(cmd, "worker ") || !strings.Contains(cmd, "--status-addr 0.0.0.0:8081") {
		t.Fatalf("command %q: want a worker with its status endpoint on the task's address", cmd)
	}
	if len(c.PortMappings) != 1 || aws.ToInt32(c.PortMappings[0].ContainerPort) != 8081 {
		t.Fatalf("port mappings %+v, want the status port 8081", c.PortMappings)
	}
	if aws.ToInt32(c.StopTimeout) != 120 || !strings.Contains(cmd, "--grace 100s") {
		t.Fatalf("stopTimeout %d with %q: the grace period must fit in it", aws.ToInt32(c.StopTimeout), cmd)
	}
}

// The autoscaler's task definition registers with ECS (moto) as it is,
// runs qscale autoscale on the configuration its image holds, and takes
// its image from the same ECR registry as the workers': both images are
// qscale's, pushed there (docs/aws.md, "Container image and ECR").
func TestAutoscalerTaskDefinitionRegisters(t *testing.T) {
	t.Parallel()
	endpoint := needMoto(t)
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	images := map[string]string{}
	for _, name := range []string{"worker-task-definition.json", "autoscaler-task-definition.json"} {
		var in ecs.RegisterTaskDefinitionInput
		dec := json.NewDecoder(bytes.NewReader(read(t, name)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			t.Fatalf("%s is not a RegisterTaskDefinition request: %v", name, err)
		}
		out, err := client.RegisterTaskDefinition(t.Context(), &in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		images[name] = aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image)
	}
	registry := func(image string) string {
		host, _, _ := strings.Cut(image, "/")
		return host
	}
	auto, worker := images["autoscaler-task-definition.json"], images["worker-task-definition.json"]
	if !strings.HasSuffix(registry(auto), ".amazonaws.com") || !strings.Contains(registry(auto), ".dkr.ecr.") || registry(auto) != registry(worker) {
		t.Errorf("the autoscaler's image %q and the workers' %q are not in one ECR registry", auto, worker)
	}
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(read(t, "autoscaler-task-definition.json"), &in); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(in.ContainerDefinitions[0].Command, " "); got != "autoscale --config /etc/qscale/qscale.yaml" {
		t.Errorf("the autoscaler runs %q, want the configuration its image holds (docs/aws.md)", got)
	}
	if aws.ToString(in.TaskRoleArn) == aws.ToString(mustTaskRole(t, "worker-task-definition.json")) {
		t.Errorf("the autoscaler and the workers share the task role %s: the workers would get the fleet's permissions", aws.ToString(in.TaskRoleArn))
	}
}

func mustTaskRole(t *testing.T, name string) *string {
	t.Helper()
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(read(t, name), &in); err != nil {
		t.Fatal(err)
	}
	return in.TaskRoleArn
}

var policies = []string{"iam-ecs-fleet.json", "iam-asg-fleet.json", "iam-cloudwatch-publish.json", "iam-sqs-source.json", "iam-sqs-dead-letters.json", "iam-worker.json"}

// Every policy is a valid IAM policy document (moto's IAM validates the
// grammar: version, effects, actions, resources, conditions).
func TestPoliciesValid(t *testing.T) {
	t.Parallel()
	endpoint := needMoto(t)
	client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	for _, name := range policies {
		_, err := client.CreatePolicy(t.Context(), &iam.CreatePolicyInput{
			PolicyName: aws.String(strings.TrimSuffix(name, ".json")), PolicyDocument: aws.String(string(read(t, name))),
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// actions returns every action a policy allows.
func actions(t *testing.T, name string) []string {
	t.Helper()
	var doc struct {
		Statement []struct {
			Effect string
			Action any
		}
	}
	if err := json.Unmarshal(read(t, name), &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []string
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			continue
		}
		switch a := s.Action.(type) {
		case string:
			out = append(out, a)
		case []any:
			for _, x := range a {
				out = append(out, x.(string))
			}
		}
	}
	slices.Sort(out)
	return out
}

// callsOf lists the methods of API interfaces as IAM actions.
func callsOf(prefix string, ifaces ...any) []string {
	var out []string
	for _, i := range ifaces {
		typ := reflect.TypeOf(i).Elem()
		for m := range typ.Methods() {
			out = append(out, prefix+m.Name)
		}
	}
	return out
}

// Least privilege: each policy allows exactly the calls the part's API
// interface declares, no more and no fewer.
func TestPoliciesMatchTheCalls(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		policy string
		want   []string
	}{
		{"iam-ecs-fleet.json", callsOf("ecs:", (*ecsfleet.API)(nil))},
		{"iam-asg-fleet.json", append(callsOf("autoscaling:", (*asgfleet.API)(nil)), "ec2:DescribeInstances")},
		{"iam-cloudwatch-publish.json", callsOf("cloudwatch:", (*cwpublish.API)(nil))},
		{"iam-sqs-source.json", callsOf("sqs:", (*sqssource.API)(nil))},
		{"iam-sqs-dead-letters.json", callsOf("sqs:", (*sqsbackend.DeadLetterAPI)(nil))},
		{"iam-cloudwatch-age.json", callsOf("cloudwatch:", (*sqssource.CloudWatchAPI)(nil))},
		// DeleteMessageBatch and ChangeMessageVisibilityBatch are
		// authorised by the single-message actions.
		{"iam-worker.json", []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"}},
	} {
		slices.Sort(c.want)
		if got := actions(t, c.policy); !slices.Equal(got, c.want) {
			t.Errorf("%s allows %v, want %v", c.policy, got, c.want)
		}
	}
}

// The example autoscaler configurations are valid, and build the fleets
// they name through the same registry as qscale autoscale.
func TestAutoscaleConfigs(t *testing.T) {
	t.Parallel()
	for name, kind := range map[string]string{"autoscale-ecs.yaml": config.KindECS, "autoscale-asg.yaml": config.KindASG} {
		c, err := config.Load(name, config.ForAutoscale)
		if err != nil {
			t.Fatal(err)
		}
		f := c.Fleets[0]
		if f.Kind() != kind {
			t.Errorf("%s: fleet kind %q, want %s", name, f.Kind(), kind)
		}
		if _, err := fleets.Build(t.Context(), f, "fleets[0]", fleets.Env{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := f.BuildPolicies(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
