package sqsconn_test

import (
	"context"
	"fmt"

	"github.com/qscale/qscale/sqsconn"
)

// An explicit endpoint wins; the region comes from the AWS queue URL.
func ExampleResolve() {
	ep, err := sqsconn.Resolve(context.Background(), sqsconn.Options{
		QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
		Endpoint: "http://127.0.0.1:9324",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(ep, ep.Region)
	// Output: http://127.0.0.1:9324 (set explicitly) eu-west-1
}

func ExampleRegionFromHost() {
	for _, host := range []string{"sqs.eu-west-1.amazonaws.com", "sqs-fips.us-gov-west-1.amazonaws.com", "sqs.cn-north-1.amazonaws.com.cn", "127.0.0.1"} {
		fmt.Printf("%s %v %q\n", host, sqsconn.IsAWSHost(host), sqsconn.RegionFromHost(host))
	}
	// Output:
	// sqs.eu-west-1.amazonaws.com true "eu-west-1"
	// sqs-fips.us-gov-west-1.amazonaws.com true "us-gov-west-1"
	// sqs.cn-north-1.amazonaws.com.cn true "cn-north-1"
	// 127.0.0.1 false ""
}

// A worker's queue, or any other SQS client, from a queue URL alone.
func ExampleNew() {
	ctx := context.Background()
	client, ep, err := sqsconn.New(ctx, sqsconn.Options{QueueURL: "http://127.0.0.1:9324/000000000000/jobs"})
	if err != nil {
		panic(err)
	}
	fmt.Println("reaching", ep)
	_ = client // client.ReceiveMessage(ctx, ...)
}
