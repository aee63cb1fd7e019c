// Package sqssource reads a queue's backlog through the SQS API
// (GetQueueAttributes) from any endpoint: qscale's embedded server, Amazon
// SQS, or another emulator; and, for Amazon SQS, the oldest message's age
// from CloudWatch (cloudwatch.go). It is the autoscaler's adapter to
// aws-sdk-go-v2; the autoscaler core imports no SDK.
package sqssource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/sqsconn"
)

// API is the one SQS call the source makes; *sqs.Client implements it.
type API interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Source observes one queue.
type Source struct {
	api      API
	url      string
	endpoint sqsconn.Endpoint

	mu      sync.Mutex // guards age, needAge and cw
	age     ageSupport
	needAge error
	// cw, when set, reads the oldest message's age from CloudWatch
	// (ReadAgeFromCloudWatch) instead of the endpoint.
	cw *cwAge
}

// ageSupport is what the source knows of the endpoint's oldest-age
// extension attribute.
type ageSupport int

const (
	ageUntried ageSupport = iota // not asked yet
	ageServed                    // the endpoint answers it: a qscale server
	ageNone                      // Amazon SQS, or an endpoint that refused or ignored it
)

// AgeAttribute is qscale's extension attribute of GetQueueAttributes: the
// age of the oldest message, in seconds (queue.AttrAgeOfOldestMessage;
// docs/sqs-compatibility.md).
const AgeAttribute = "QscaleApproximateAgeOfOldestMessage"

var _ autoscale.QueueSource = (*Source)(nil)

// New returns a Source for the queue at queueURL. It asks for the oldest
// message's age (AgeAttribute) once; an endpoint that refuses or ignores
// it is not asked again. FromConfig never asks Amazon SQS.
func New(api API, queueURL string) *Source { return &Source{api: api, url: queueURL} }

// ReadsOldestAge reports whether the source can tell the oldest message's
// age: not from Amazon SQS (GetQueueAttributes has no such attribute), and
// from another endpoint only while it has not refused qscale's extension
// attribute.
func (s *Source) ReadsOldestAge() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cw != nil || s.age != ageNone
}

var attributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// Observe implements autoscale.QueueSource with one GetQueueAttributes call.
// A qscale server also reports the oldest message's age (AgeAttribute);
// Amazon SQS does not, nor rates or the processing time: the controller
// learns those from the workers, and the age comes from CloudWatch once
// ReadAgeFromCloudWatch was called (docs/autoscaling.md, "Where each
// signal comes from").
func (s *Source) Observe(ctx context.Context) (autoscale.QueueStats, error) {
	s.mu.Lock()
	cw := s.cw
	askAge := s.age != ageNone && cw == nil
	s.mu.Unlock()
	names := attributes
	if askAge {
		names = append(slices.Clip(attributes), AgeAttribute)
	}
	out, err := s.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.url), AttributeNames: names})
	var ae smithy.APIError
	if askAge && errors.As(err, &ae) && ae.ErrorCode() == "InvalidAttributeName" {
		// Not a qscale server: ask for what SQS has, from now on.
		s.setAge(ageNone)
		askAge = false
		out, err = s.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(s.url), AttributeNames: attributes})
	}
	if err != nil {
		// A missing queue or an endpoint nothing answers on: one short,
		// stable line that says what to do.
		if e := sqsconn.Explain(err, s.url, s.endpoint, sqsconn.Fixes{Endpoint: "set the fleet's queue.endpoint", Queue: "fix the fleet's queue"}); e != err {
			return autoscale.QueueStats{}, e
		}
		return autoscale.QueueStats{}, fmt.Errorf("sqssource: GetQueueAttributes %s: %w", s.url, err)
	}
	var st autoscale.QueueStats
	if cw != nil {
		if st.OldestAge, err = cw.age(ctx); err != nil {
			return autoscale.QueueStats{}, err
		}
	} else if err := s.ageMissing(); err != nil {
		return autoscale.QueueStats{}, err
	}
	if askAge {
		v, ok := out.Attributes[AgeAttribute]
		if !ok {
			s.setAge(ageNone) // an endpoint that ignores unknown names
			if err := s.ageMissing(); err != nil {
				return autoscale.QueueStats{}, err
			}
		} else {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil || !(sec >= 0 && sec <= math.MaxInt64/float64(time.Second)) { // NaN too
				return autoscale.QueueStats{}, fmt.Errorf("sqssource: %s of %s is %q, not seconds", AgeAttribute, s.url, v)
			}
			s.setAge(ageServed)
			st.OldestAge = time.Duration(sec * float64(time.Second))
		}
	}
	for _, f := range []struct {
		name types.QueueAttributeName
		dst  *int
	}{
		{types.QueueAttributeNameApproximateNumberOfMessages, &st.Visible},
		{types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, &st.InFlight},
		{types.QueueAttributeNameApproximateNumberOfMessagesDelayed, &st.Delayed},
	} {
		v, ok := out.Attributes[string(f.name)]
		if !ok {
			continue // an endpoint that omits one reports 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return autoscale.QueueStats{}, fmt.Errorf("sqssource: %s of %s is %q, not a count", f.name, s.url, v)
		}
		*f.dst = n
	}
	return st, nil
}

// FromConfig builds a Source from the autoscaler's queue configuration,
// connected by package sqsconn: the same endpoint, region and credentials
// as a worker given the same queue URL.
func FromConfig(ctx context.Context, q autoscale.QueueConfig) (*Source, error) {
	client, ep, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: q.URL, Endpoint: q.Endpoint, Region: q.Region})
	if err != nil {
		return nil, fmt.Errorf("sqssource: %w", err)
	}
	s := New(client, q.URL)
	s.endpoint = ep
	if ep.AWS {
		s.age = ageNone // Amazon SQS refuses qscale's attribute
	}
	return s, nil
}

// NeedOldestAge says that a policy reads the oldest message's age: from
// then on, once the endpoint turns out not to report it, every Observe
// fails with err (which should name the policy and the remedy) instead of
// reporting an age of 0.
func (s *Source) NeedOldestAge(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.needAge = err
}

// ageMissing is the error of a source whose policies need the age the
// endpoint does not report; nil otherwise.
func (s *Source) ageMissing() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.age == ageNone && s.cw == nil && s.needAge != nil {
		return fmt.Errorf("sqssource: %s: %w", s.url, s.needAge)
	}
	return nil
}

func (s *Source) setAge(a ageSupport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.age = a
}

// Endpoint is where FromConfig's source sends its calls, and why (zero for
// a Source made with New).
func (s *Source) Endpoint() sqsconn.Endpoint { return s.endpoint }
