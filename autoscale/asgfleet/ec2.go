package asgfleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/qscale/qscale/sqsconn"
)

// IPResolver finds instances' private IPv4 addresses, for a BusyReader
// that reaches workers over the network (StatusReader).
type IPResolver interface {
	PrivateIPs(ctx context.Context, ids []string) (map[string]string, error)
}

// EC2 resolves private IPs with one EC2 DescribeInstances call (query
// protocol, signed with the configuration's credentials). It speaks the
// one call itself rather than through the SDK's EC2 client: that client
// brings hundreds of operations that would add some 30 MB to qscale's
// binary for this single call.
type EC2 struct {
	// Config gives the region, credentials and HTTP client.
	Config aws.Config
	// Endpoint; default https://ec2.<region>.amazonaws.com.
	Endpoint string
}

var _ IPResolver = (*EC2)(nil)

// APIError is an error EC2 answered with.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("ec2 DescribeInstances: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode, ErrorMessage and ErrorFault make it a smithy.APIError, which
// the SDK's retryer classifies (throttling, server errors).
func (e *APIError) ErrorCode() string    { return e.Code }
func (e *APIError) ErrorMessage() string { return e.Message }
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.Status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HTTPStatusCode lets the retryer retry 5xx answers.
func (e *APIError) HTTPStatusCode() int { return e.Status }

type describeInstancesResponse struct {
	Reservations []struct {
		Instances []struct {
			InstanceID       string `xml:"instanceId"`
			PrivateIPAddress string `xml:"privateIpAddress"`
		} `xml:"instancesSet>item"`
	} `xml:"reservationSet>item"`
	NextToken string `xml:"nextToken"`
}

type ec2ErrorResponse struct {
	Errors []struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Errors>Error"`
}

// PrivateIPs implements IPResolver. Instances EC2 does not report are
// missing from the map.
func (e *EC2) PrivateIPs(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	next := ""
	for {
		form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}
		for i, id := range ids {
			form.Set("InstanceId."+strconv.Itoa(i+1), id)
		}
		if next != "" {
			form.Set("NextToken", next)
		}
		var resp describeInstancesResponse
		if err := e.retry(ctx, func() error { return e.call(ctx, form, &resp) }); err != nil {
			return nil, err
		}
		for _, r := range resp.Reservations {
			for _, in := range r.Instances {
				if in.PrivateIPAddress != "" {
					out[in.InstanceID] = in.PrivateIPAddress
				}
			}
		}
		if resp.NextToken == "" {
			return out, nil
		}
		next = resp.NextToken
	}
}

// retry runs fn with the configuration's retryer (the SDK's standard one
// from FromSettings): throttling and server errors are tried again after
// its backoff.
func (e *EC2) retry(ctx context.Context, fn func() error) error {
	if e.Config.Retryer == nil {
		return fn()
	}
	r := e.Config.Retryer()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= r.MaxAttempts() || !r.IsErrorRetryable(err) {
			return err
		}
		d, derr := r.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ec2 DescribeInstances: %w (after %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (e *EC2) call(ctx context.Context, form url.Values, v any) error {
	region := e.Config.Region
	if region == "" {
		region = sqsconn.DefaultRegion
	}
	endpoint := e.Endpoint
	if endpoint == "" {
		endpoint = "https://ec2." + region + ".amazonaws.com"
	}
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ec2 DescribeInstances: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if e.Config.Credentials == nil {
		return errors.New("ec2 DescribeInstances: no credentials configured")
	}
	creds, err := e.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("ec2 DescribeInstances: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", region, time.Now()); err != nil {
		return fmt.Errorf("ec2 DescribeInstances: signing: %w", err)
	}
	client := e.Config.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ec2 DescribeInstances: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("ec2 DescribeInstances: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode)}
		var er ec2ErrorResponse
		if xml.Unmarshal(b, &er) == nil && len(er.Errors) > 0 {
			apiErr.Code, apiErr.Message = er.Errors[0].Code, er.Errors[0].Message
		}
		return apiErr
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("ec2 DescribeInstances: answer: %w", err)
	}
	return nil
}
