package sqsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func sqsCreate(name string) *sqs.CreateQueueInput { return &sqs.CreateQueueInput{QueueName: &name} }

func sqsSend(url, body string) *sqs.SendMessageInput {
	return &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &body, MessageAttributes: map[string]types.MessageAttributeValue{
		"k": {DataType: aws.String("String"), StringValue: aws.String("v")},
	}}
}
