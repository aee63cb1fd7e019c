package asgfleet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/qscale/qscale/autoscale/asgfleet"
)

// recordedASG answers the EC2 Auto Scaling query protocol for one group
// and records the requests; busyFor SetDesiredCapacity calls answer
// ScalingActivityInProgress first, as a group busy with another change
// does.
type recordedASG struct {
	busyFor int

	mu    sync.Mutex
	forms []url.Values
}

func (a *recordedASG) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	a.mu.Lock()
	a.forms = append(a.forms, r.PostForm)
	busy := false
	if r.PostForm.Get("Action") == "SetDesiredCapacity" && a.busyFor > 0 {
		a.busyFor--
		busy = true
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	const ns = `xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"`
	switch {
	case busy:
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>ScalingActivityInProgress</Code><Message>Scaling activity is in progress</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, ns)
	case r.PostForm.Get("Action") == "DescribeAutoScalingGroups":
		fmt.Fprintf(w, `<DescribeAutoScalingGroupsResponse %s><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>
<AutoScalingGroupName>g</AutoScalingGroupName><MinSize>0</MinSize><MaxSize>10</MaxSize><DesiredCapacity>1</DesiredCapacity>
<Instances><member><InstanceId>i-1</InstanceId><LifecycleState>InService</LifecycleState><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>
<member><InstanceId>i-2</InstanceId><LifecycleState>Pending:Wait</LifecycleState><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>
<member><InstanceId>i-3</InstanceId><LifecycleState>Terminating</LifecycleState><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member></Instances>
</member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`, ns)
	case r.PostForm.Get("Action") == "SetDesiredCapacity":
		fmt.Fprintf(w, `<SetDesiredCapacityResponse %s><ResponseMetadata><RequestId>r3</RequestId></ResponseMetadata></SetDesiredCapacityResponse>`, ns)
	default:
		http.Error(w, "unexpected", 400)
	}
}

// ScalingActivityInProgress is retried with backoff, and the request is
// SetDesiredCapacity with HonorCooldown false.
func TestScalingActivityInProgressRetried(t *testing.T) {
	t.Parallel()
	a := &recordedASG{busyFor: 1}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	f, err := asgfleet.FromSettings(t.Context(), asgfleet.Settings{GroupName: "g", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Desired != 1 || s.Running != 1 || s.Starting != 1 {
		t.Fatalf("State = %+v, want 1 desired, 1 running, 1 starting (terminating not counted)", s)
	}
	if err := f.SetDesired(t.Context(), 3); err != nil {
		t.Fatalf("SetDesired after one ScalingActivityInProgress: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var sets []string
	for _, v := range a.forms {
		if v.Get("Action") == "SetDesiredCapacity" {
			sets = append(sets, v.Encode())
		}
	}
	want := "Action=SetDesiredCapacity&AutoScalingGroupName=g&DesiredCapacity=3&HonorCooldown=false&Version=2011-01-01"
	if len(sets) != 2 || sets[0] != want || sets[1] != want {
		t.Fatalf("SetDesiredCapacity requests %v, want twice %s", sets, want)
	}
}

// Errors that retrying cannot fix come back with the call and a hint.
func TestBusyGroupReportedAfterRetries(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits through the retryer's backoff")
	}
	a := &recordedASG{busyFor: 100}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	f, err := asgfleet.FromSettings(t.Context(), asgfleet.Settings{GroupName: "g", Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	err = f.SetDesired(t.Context(), 3)
	if err == nil || !strings.Contains(err.Error(), "SetDesiredCapacity g") || !strings.Contains(err.Error(), "ScalingActivityInProgress") {
		t.Fatalf("SetDesired = %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := 100 - a.busyFor; n != asgfleet.MaxAttempts {
		t.Fatalf("%d attempts, want %d", n, asgfleet.MaxAttempts)
	}
}
