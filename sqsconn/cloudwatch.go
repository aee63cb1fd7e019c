package sqsconn

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// CloudWatch is a CloudWatch client of cfg (from AWSConfig), at endpoint
// when it is set, speaking protocol: "cbor" or "" (the SDK's default),
// "json" or "query" (what emulators such as moto 5.2 speak; AWS accepts
// all three).
func CloudWatch(cfg aws.Config, endpoint, protocol string) (*cloudwatch.Client, error) {
	var proto func(*cloudwatch.Options)
	switch protocol {
	case "", "cbor":
	case "json":
		proto = func(o *cloudwatch.Options) { o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801) }
	case "query":
		proto = func(o *cloudwatch.Options) { o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) }
	default:
		return nil, fmt.Errorf("CloudWatch protocol %q: want cbor, json or query", protocol)
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		if proto != nil {
			proto(o)
		}
	}), nil
}
