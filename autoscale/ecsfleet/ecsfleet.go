// Package ecsfleet is an autoscale.Fleet over an Amazon ECS service: the
// worker count is the service's desiredCount (UpdateService), and State
// reads runningCount and pendingCount (DescribeServices), as seed 000's
// monitoring service does.
//
// ECS chooses which tasks stop when desiredCount goes down. qscale steers
// that choice with task scale-in protection (UpdateTaskProtection): before
// a scale-in it reads each running task's worker status (a BusyReader; in
// production the worker's status endpoint at the task's private IP, see
// StatusReader), orders the tasks with workerstatus.Order (starting, then
// leaving, idle, unknown, busy last), protects the tasks it keeps and
// removes protection from the ones that should go, so ECS stops idle (or
// still starting) tasks and never a busy one while an idle one is left. docs/aws.md describes the settings and the IAM policy.
package ecsfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/worker/workerstatus"
)

// API is the part of the ECS API the fleet calls; *ecs.Client implements
// it.
type API interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	UpdateTaskProtection(ctx context.Context, in *ecs.UpdateTaskProtectionInput, opts ...func(*ecs.Options)) (*ecs.UpdateTaskProtectionOutput, error)
}

var _ API = (*ecs.Client)(nil)

// Task is one task of the service, as DescribeTasks reports it.
type Task struct {
	ARN string
	// LastStatus is ECS's: PROVISIONING, PENDING, ACTIVATING, RUNNING, ...
	LastStatus string
	// PrivateIP is the task's private IPv4 address (awsvpc network mode,
	// which Fargate always uses); empty when ECS reports none.
	PrivateIP string
}

// BusyReader reads a running task's worker status, which tells a busy
// worker from an idle one. StatusReader is the production implementation.
type BusyReader interface {
	ReadStatus(ctx context.Context, t Task) (workerstatus.Report, error)
}

// Options configure a Fleet.
type Options struct {
	// Cluster is the cluster's name or ARN; required.
	Cluster string
	// Service is the service's name or ARN; required.
	Service string
	// Busy reads whether tasks are busy. With it, every scale-in sets task
	// scale-in protection as the package comment describes; without it,
	// qscale sets no protection and ECS alone chooses which tasks stop.
	Busy BusyReader
	// ProtectionExpiry is how long the protection qscale sets on kept
	// tasks lasts (UpdateTaskProtection's expiresInMinutes, whole minutes,
	// 1 min to 48 h); default 10 min. It only has to outlast ECS acting on
	// the scale-in that follows (each scale-in sets it again), and a short
	// one keeps it from holding up deployments, which wait for protected
	// tasks, or lingering after qscale stops.
	ProtectionExpiry time.Duration
	// Logger receives one record per scale-in that set protection, and
	// status read failures; default: discard.
	Logger *slog.Logger
}

// Fleet is an ECS service. It is safe for concurrent use: SetDesired calls
// are serialised so that one scale-in's protection is not mixed with
// another's.
type Fleet struct {
	api API
	o   Options

	mu sync.Mutex // serialises SetDesired
}

var _ autoscale.Fleet = (*Fleet)(nil)

// New returns a Fleet for the service o.Service in o.Cluster, calling api.
func New(api API, o Options) (*Fleet, error) {
	if o.Cluster == "" {
		return nil, errors.New("ecsfleet: Options.Cluster is required")
	}
	if o.Service == "" {
		return nil, errors.New("ecsfleet: Options.Service is required")
	}
	if o.ProtectionExpiry == 0 {
		o.ProtectionExpiry = 10 * time.Minute
	}
	if o.ProtectionExpiry < time.Minute || o.ProtectionExpiry > 48*time.Hour {
		return nil, fmt.Errorf("ecsfleet: protection expiry %s: must be 1m to 48h", o.ProtectionExpiry)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Fleet{api: api, o: o}, nil
}

func (f *Fleet) describe(ctx context.Context) (types.Service, error) {
	if err := ctx.Err(); err != nil {
		return types.Service{}, fmt.Errorf("ecsfleet: %w", err)
	}
	out, err := f.api.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster: aws.String(f.o.Cluster), Services: []string{f.o.Service},
	})
	if err != nil {
		return types.Service{}, f.wrap("DescribeServices", err)
	}
	if len(out.Services) != 1 {
		reason := "not found"
		if len(out.Failures) > 0 && out.Failures[0].Reason != nil {
			reason = *out.Failures[0].Reason
		}
		return types.Service{}, fmt.Errorf("ecsfleet: service %s in cluster %s: %s", f.o.Service, f.o.Cluster, reason)
	}
	return out.Services[0], nil
}

// State implements autoscale.Fleet with one DescribeServices call:
// desiredCount, runningCount and pendingCount.
func (f *Fleet) State(ctx context.Context) (autoscale.FleetState, error) {
	s, err := f.describe(ctx)
	if err != nil {
		return autoscale.FleetState{}, err
	}
	st := autoscale.FleetState{
		Desired:  int(s.DesiredCount),
		Running:  int(max(s.RunningCount, 0)),
		Starting: int(max(s.PendingCount, 0)),
	}
	if f.o.Busy != nil {
		// The workers' status documents give the busy count (the
		// controller's busy floor) and the counters it learns from.
		cs, err := f.readWorkers(ctx)
		if err != nil {
			return autoscale.FleetState{}, err
		}
		autoscale.WorkersFromCandidates(&st, cs)
	}
	return st, nil
}

// SetDesired implements autoscale.Fleet: UpdateService(desiredCount=n),
// preceded on a scale-in by task protection when Options.Busy is set.
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 || n > maxDesired {
		return fmt.Errorf("ecsfleet: %w: %d", autoscale.ErrInvalidDesired, n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.describe(ctx)
	if err != nil {
		return err
	}
	if s.Status != nil && *s.Status != "ACTIVE" {
		return fmt.Errorf("ecsfleet: service %s in cluster %s is %s, not ACTIVE", f.o.Service, f.o.Cluster, *s.Status)
	}
	cur := int(s.DesiredCount)
	if n == cur {
		return nil
	}
	if n < cur && f.o.Busy != nil {
		if err := f.protect(ctx, n); err != nil {
			return err
		}
	}
	if _, err := f.api.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(f.o.Cluster), Service: aws.String(f.o.Service), DesiredCount: aws.Int32(int32(n)),
	}); err != nil {
		return f.wrap("UpdateService", err)
	}
	return nil
}

// maxDesired is the most tasks one ECS service can run (the service quota
// "tasks per service").
const maxDesired = 5000

// protect protects the tasks that stay after scaling in to n, and
// unprotects the running tasks that should go: the first ones of
// workerstatus.Order, the scale-in order every qscale fleet follows.
func (f *Fleet) protect(ctx context.Context, n int) error {
	cs, err := f.readWorkers(ctx)
	if err != nil {
		return err
	}
	order := workerstatus.Order(cs)
	var keep, drop []string
	for i, c := range order {
		switch cl := c.Class(); {
		case cl == workerstatus.ClassStarting:
			// Starting tasks cannot be protected; they come first in the
			// order, so when one is kept only starting tasks go.
			continue
		case cl == workerstatus.ClassUnknown && c.Err != nil:
			f.o.Logger.WarnContext(ctx, "ecsfleet: cannot read a task's status; ranking it between idle and busy", "task", c.ID, "err", c.Err)
		}
		if i < len(order)-n {
			drop = append(drop, c.ID)
		} else {
			keep = append(keep, c.ID)
		}
	}
	if err := f.setProtection(ctx, keep, true); err != nil {
		return err
	}
	if err := f.setProtection(ctx, drop, false); err != nil {
		return err
	}
	f.o.Logger.InfoContext(ctx, "ecsfleet: task protection set before scale-in", "to", n, "protected", len(keep), "unprotected", len(drop), "busy", workerstatus.CountBusy(cs))
	return nil
}

// readWorkers reads the status of the service's tasks, as candidates for
// workerstatus.Order.
func (f *Fleet) readWorkers(ctx context.Context) ([]workerstatus.Candidate, error) {
	tasks, err := f.tasks(ctx)
	if err != nil {
		return nil, err
	}
	cs := make([]workerstatus.Candidate, len(tasks))
	for i, t := range tasks {
		cs[i] = workerstatus.Candidate{ID: t.ARN, Starting: t.LastStatus != "RUNNING"}
	}
	err = workerstatus.ReadAll(ctx, cs, 8, func(ctx context.Context, i int) (workerstatus.Report, error) {
		return f.o.Busy.ReadStatus(ctx, tasks[i])
	})
	if err != nil {
		return nil, fmt.Errorf("ecsfleet: %w", err)
	}
	return cs, nil
}

// tasks lists the service's tasks that ECS means to keep running
// (desiredStatus RUNNING) with their status and address.
func (f *Fleet) tasks(ctx context.Context) ([]Task, error) {
	var arns []string
	in := &ecs.ListTasksInput{
		Cluster: aws.String(f.o.Cluster), ServiceName: aws.String(f.o.Service), DesiredStatus: types.DesiredStatusRunning,
	}
	for {
		out, err := f.api.ListTasks(ctx, in)
		if err != nil {
			return nil, f.wrap("ListTasks", err)
		}
		arns = append(arns, out.TaskArns...)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	var tasks []Task
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 100)] // DescribeTasks takes up to 100
		arns = arns[len(batch):]
		out, err := f.api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.o.Cluster), Tasks: batch})
		if err != nil {
			return nil, f.wrap("DescribeTasks", err)
		}
		for _, t := range out.Tasks {
			tasks = append(tasks, Task{ARN: aws.ToString(t.TaskArn), LastStatus: aws.ToString(t.LastStatus), PrivateIP: privateIP(t)})
		}
	}
	return tasks, nil
}

// privateIP finds a task's private IPv4 address: in its elastic network
// interface attachment (awsvpc mode), else in a container's network
// interfaces.
func privateIP(t types.Task) string {
	for _, a := range t.Attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" && aws.ToString(d.Value) != "" {
				return aws.ToString(d.Value)
			}
		}
	}
	for _, c := range t.Containers {
		for _, ni := range c.NetworkInterfaces {
			if ip := aws.ToString(ni.PrivateIpv4Address); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// setProtection calls UpdateTaskProtection for arns, 10 at a time (the
// API's limit). A task ECS reports as failed makes it an error: the
// controller tries the scale-in again later, with fresh task states.
func (f *Fleet) setProtection(ctx context.Context, arns []string, enabled bool) error {
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 10)]
		arns = arns[len(batch):]
		in := &ecs.UpdateTaskProtectionInput{Cluster: aws.String(f.o.Cluster), Tasks: batch, ProtectionEnabled: enabled}
		if enabled {
			in.ExpiresInMinutes = aws.Int32(int32(f.o.ProtectionExpiry / time.Minute))
		}
		out, err := f.api.UpdateTaskProtection(ctx, in)
		if err != nil {
			return f.wrap("UpdateTaskProtection", err)
		}
		if len(out.Failures) > 0 {
			fl := out.Failures[0]
			return fmt.Errorf("ecsfleet: UpdateTaskProtection(protectionEnabled=%t) failed for %d of %d tasks, first %s: %s %s",
				enabled, len(out.Failures), len(batch), aws.ToString(fl.Arn), aws.ToString(fl.Reason), aws.ToString(fl.Detail))
		}
	}
	return nil
}

// wrap adds the call, the service and a hint for the errors an operator can
// fix to an ECS error.
func (f *Fleet) wrap(op string, err error) error {
	var (
		notActive *types.ServiceNotActiveException
		notFound  *types.ServiceNotFoundException
		noCluster *types.ClusterNotFoundException
		denied    *types.AccessDeniedException
	)
	hint := ""
	switch {
	case errors.As(err, &notActive):
		hint = " (the service is draining or deleted; qscale cannot size it until it is ACTIVE again)"
	case errors.As(err, &notFound), errors.As(err, &noCluster):
		hint = " (check the fleet settings cluster and service, and the region)"
	case errors.As(err, &denied), isCode(err, "AccessDeniedException"):
		hint = " (the IAM policy in deploy/aws/iam-ecs-fleet.json lists what the fleet needs)"
	}
	return fmt.Errorf("ecsfleet: %s %s/%s: %w%s", op, f.o.Cluster, f.o.Service, err, hint)
}
