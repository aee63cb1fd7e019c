// Package asgfleet is an autoscale.Fleet over an Amazon EC2 Auto Scaling
// group: one worker per instance. The worker count is the group's desired
// capacity (SetDesiredCapacity); State counts the group's instances that
// are InService (running, as seed 004 defines the group's running
// capacity) and Pending (starting), from DescribeAutoScalingGroups.
//
// The group chooses which instances terminate when its desired capacity
// goes down. qscale steers that choice with instance scale-in protection
// (SetInstanceProtection), doing for the whole group what seed 004's
// worker loop does for itself: before a scale-in it reads each instance's
// worker status (a BusyReader; in production the worker's status endpoint
// at the instance's private IP, see StatusReader and EC2), orders the
// instances with workerstatus.Order, protects the instances it keeps and
// removes protection from the ones that should go. docs/aws.md describes the settings and the
// IAM policy.
package asgfleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/worker/workerstatus"
)

// API is the part of the EC2 Auto Scaling API the fleet calls;
// *autoscaling.Client implements it.
type API interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	SetDesiredCapacity(ctx context.Context, in *autoscaling.SetDesiredCapacityInput, opts ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, opts ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
}

var _ API = (*autoscaling.Client)(nil)

// Instance is one instance of the group.
type Instance struct {
	ID string
	// LifecycleState is the group's: Pending, InService, ...
	LifecycleState string
	// PrivateIP is the instance's private IPv4 address; set only when the
	// fleet has an IPResolver.
	PrivateIP string
}

// BusyReader reads an InService instance's worker status, which tells a
// busy worker from an idle one. StatusReader is the production
// implementation.
type BusyReader interface {
	ReadStatus(ctx context.Context, in Instance) (workerstatus.Report, error)
}

// Options configure a Fleet.
type Options struct {
	// Group is the Auto Scaling group's name; required.
	Group string
	// Busy reads whether instances are busy. With it, every scale-in sets
	// instance scale-in protection as the package comment describes;
	// without it, qscale leaves protection alone and the group's
	// termination policy chooses which instances go.
	Busy BusyReader
	// IPs looks up instances' private IPs for Busy (StatusReader needs
	// them); optional. EC2 is the production implementation.
	IPs IPResolver
	// Logger receives one record per scale-in that set protection, and
	// status read failures; default: discard.
	Logger *slog.Logger
}

// Fleet is an Auto Scaling group. It is safe for concurrent use:
// SetDesired calls are serialised so that one scale-in's protection is not
// mixed with another's.
type Fleet struct {
	api API
	o   Options

	mu sync.Mutex // serialises SetDesired
}

var _ autoscale.Fleet = (*Fleet)(nil)

// New returns a Fleet for the group o.Group, calling api.
func New(api API, o Options) (*Fleet, error) {
	if o.Group == "" {
		return nil, errors.New("asgfleet: Options.Group is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Fleet{api: api, o: o}, nil
}

func (f *Fleet) describe(ctx context.Context) (types.AutoScalingGroup, error) {
	if err := ctx.Err(); err != nil {
		return types.AutoScalingGroup{}, fmt.Errorf("asgfleet: %w", err)
	}
	out, err := f.api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.o.Group}})
	if err != nil {
		return types.AutoScalingGroup{}, f.wrap("DescribeAutoScalingGroups", err)
	}
	for _, g := range out.AutoScalingGroups {
		if aws.ToString(g.AutoScalingGroupName) == f.o.Group {
			return g, nil
		}
	}
	return types.AutoScalingGroup{}, fmt.Errorf("asgfleet: Auto Scaling group %q not found (check the fleet setting groupName and the region)", f.o.Group)
}

func starting(s types.LifecycleState) bool {
	switch s {
	case types.LifecycleStatePending, types.LifecycleStatePendingWait, types.LifecycleStatePendingProceed:
		return true
	}
	return false
}

// State implements autoscale.Fleet with one DescribeAutoScalingGroups
// call: DesiredCapacity, and the instances InService (Running) and Pending,
// Pending:Wait or Pending:Proceed (Starting). Instances terminating, in
// standby or detaching count in neither.
func (f *Fleet) State(ctx context.Context) (autoscale.FleetState, error) {
	g, err := f.describe(ctx)
	if err != nil {
		return autoscale.FleetState{}, err
	}
	s := autoscale.FleetState{Desired: int(aws.ToInt32(g.DesiredCapacity))}
	for _, in := range g.Instances {
		switch {
		case in.LifecycleState == types.LifecycleStateInService:
			s.Running++
		case starting(in.LifecycleState):
			s.Starting++
		}
	}
	if f.o.Busy != nil {
		// The workers' status documents give the busy count (the
		// controller's busy floor) and the counters it learns from.
		cs, _, err := f.readWorkers(ctx, g)
		if err != nil {
			return autoscale.FleetState{}, err
		}
		autoscale.WorkersFromCandidates(&s, cs)
	}
	return s, nil
}

// SetDesired implements autoscale.Fleet: SetDesiredCapacity (HonorCooldown
// false: qscale's policies keep their own cooldowns), preceded on a
// scale-in by instance protection when Options.Busy is set. A count
// outside the group's MinSize..MaxSize fails with ErrInvalidDesired: set
// the group's bounds to include qscale's minCapacity..maxCapacity.
func (f *Fleet) SetDesired(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("asgfleet: %w: %d", autoscale.ErrInvalidDesired, n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g, err := f.describe(ctx)
	if err != nil {
		return err
	}
	if g.Status != nil && *g.Status != "" {
		return fmt.Errorf("asgfleet: Auto Scaling group %s is %q; qscale cannot size it", f.o.Group, *g.Status)
	}
	lo, hi := int(aws.ToInt32(g.MinSize)), int(aws.ToInt32(g.MaxSize))
	if n < lo || n > hi {
		return fmt.Errorf("asgfleet: %w: %d is outside group %s's MinSize..MaxSize %d..%d", autoscale.ErrInvalidDesired, n, f.o.Group, lo, hi)
	}
	cur := int(aws.ToInt32(g.DesiredCapacity))
	if n == cur {
		return nil
	}
	if n < cur && f.o.Busy != nil {
		if err := f.protect(ctx, g, n); err != nil {
			return err
		}
	}
	if _, err := f.api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(f.o.Group), DesiredCapacity: aws.Int32(int32(n)), HonorCooldown: aws.Bool(false),
	}); err != nil {
		return f.wrap("SetDesiredCapacity", err)
	}
	return nil
}

// protect protects the instances that stay after scaling in to n and
// removes protection from those that should go: the first ones of
// workerstatus.Order, the scale-in order every qscale fleet follows.
func (f *Fleet) protect(ctx context.Context, g types.AutoScalingGroup, n int) error {
	cs, protected, err := f.readWorkers(ctx, g)
	if err != nil {
		return err
	}
	order := workerstatus.Order(cs)
	var protect, unprotect []string
	for i, c := range order {
		cl := c.Class()
		if cl == workerstatus.ClassUnknown && c.Err != nil {
			f.o.Logger.WarnContext(ctx, "asgfleet: cannot read an instance's status; ranking it between idle and busy", "instance", c.ID, "err", c.Err)
		}
		keep := i >= len(order)-n
		switch {
		case keep && !protected[c.ID] && cl != workerstatus.ClassStarting:
			// Starting instances come first in the order: when one is
			// kept, every instance that goes is starting too, and which
			// of those goes does not matter.
			protect = append(protect, c.ID)
		case !keep && protected[c.ID]:
			unprotect = append(unprotect, c.ID)
		}
	}
	if err := f.setProtection(ctx, protect, true); err != nil {
		return err
	}
	if err := f.setProtection(ctx, unprotect, false); err != nil {
		return err
	}
	f.o.Logger.InfoContext(ctx, "asgfleet: instance protection set before scale-in", "to", n, "protected", len(protect), "unprotected", len(unprotect), "busy", workerstatus.CountBusy(cs))
	return nil
}

// readWorkers reads the status of the group's instances that are in
// service or starting, returning their candidates for
// workerstatus.Order, and which are protected from scale-in now.
func (f *Fleet) readWorkers(ctx context.Context, g types.AutoScalingGroup) ([]workerstatus.Candidate, map[string]bool, error) {
	var ins []Instance
	protected := map[string]bool{}
	for _, in := range g.Instances {
		if in.LifecycleState != types.LifecycleStateInService && !starting(in.LifecycleState) {
			continue // leaving already, or in standby: not the group's to terminate
		}
		id := aws.ToString(in.InstanceId)
		ins = append(ins, Instance{ID: id, LifecycleState: string(in.LifecycleState)})
		protected[id] = aws.ToBool(in.ProtectedFromScaleIn)
	}
	if err := f.addIPs(ctx, ins); err != nil {
		return nil, nil, err
	}
	cs := make([]workerstatus.Candidate, len(ins))
	for i, in := range ins {
		cs[i] = workerstatus.Candidate{ID: in.ID, Starting: in.LifecycleState != string(types.LifecycleStateInService)}
	}
	err := workerstatus.ReadAll(ctx, cs, 8, func(ctx context.Context, i int) (workerstatus.Report, error) {
		return f.o.Busy.ReadStatus(ctx, ins[i])
	})
	if err != nil {
		return nil, nil, fmt.Errorf("asgfleet: %w", err)
	}
	return cs, protected, nil
}

// addIPs fills in private IPs when the fleet has an IPResolver.
func (f *Fleet) addIPs(ctx context.Context, rs []Instance) error {
	if f.o.IPs == nil || len(rs) == 0 {
		return nil
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	ips, err := f.o.IPs.PrivateIPs(ctx, ids)
	if err != nil {
		return fmt.Errorf("asgfleet: private IPs of group %s: %w", f.o.Group, err)
	}
	for i := range rs {
		rs[i].PrivateIP = ips[rs[i].ID]
	}
	return nil
}

// setProtection calls SetInstanceProtection for ids, 50 at a time (the
// API's limit).
func (f *Fleet) setProtection(ctx context.Context, ids []string, protected bool) error {
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 50)]
		ids = ids[len(batch):]
		if _, err := f.api.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
			AutoScalingGroupName: aws.String(f.o.Group), InstanceIds: batch, ProtectedFromScaleIn: aws.Bool(protected),
		}); err != nil {
			return f.wrap(fmt.Sprintf("SetInstanceProtection(%t)", protected), err)
		}
	}
	return nil
}

// wrap adds the call, the group and a hint for the errors an operator can
// fix.
func (f *Fleet) wrap(op string, err error) error {
	hint := ""
	switch {
	case isCode(err, "AccessDenied"), isCode(err, "AccessDeniedException"), isCode(err, "UnauthorizedOperation"):
		hint = " (the IAM policy in deploy/aws/iam-asg-fleet.json lists what the fleet needs)"
	case isCode(err, "ScalingActivityInProgress"), isCode(err, "ResourceContention"):
		hint = " (the group is busy with another change; retried with backoff)"
	case isCode(err, "ValidationError"):
		hint = " (check the fleet setting groupName and the group's MinSize/MaxSize)"
	}
	return fmt.Errorf("asgfleet: %s %s: %w%s", op, f.o.Group, err, hint)
}
