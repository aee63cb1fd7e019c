package testserver

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Client is an AWS SDK SQS client of endpoint (a test server, or moto) in
// us-east-1, signing with a test key (the server takes any signature
// unless it is given keys).
func Client(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// Fill creates the standard queue name through api, sends it n messages
// with the body "x", and returns its URL.
func Fill(t testing.TB, api *sqs.Client, name string, n int) string {
	t.Helper()
	q, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := api.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
	}
	return *q.QueueUrl
}
