package sqsapi

import (
	"context"
	"encoding/xml"
	"sort"

	"github.com/qscale/qscale/queue"
)

var actions = map[string]actionFunc{
	"CreateQueue":                  handle(createQueueQuery, createQueue),
	"GetQueueUrl":                  handle(getQueueURLQuery, getQueueURL),
	"ListQueues":                   handle(listQueuesQuery, listQueues),
	"DeleteQueue":                  handle(queueURLQuery, deleteQueue),
	"GetQueueAttributes":           handle(getQueueAttributesQuery, getQueueAttributes),
	"SetQueueAttributes":           handle(setQueueAttributesQuery, setQueueAttributes),
	"PurgeQueue":                   handle(queueURLQuery, purgeQueue),
	"TagQueue":                     handle(tagQueueQuery, tagQueue),
	"UntagQueue":                   handle(untagQueueQuery, untagQueue),
	"ListQueueTags":                handle(queueURLQuery, listQueueTags),
	"SendMessage":                  handle(sendMessageQuery, sendMessage),
	"SendMessageBatch":             handle(sendMessageBatchQuery, sendMessageBatch),
	"ReceiveMessage":               handle(receiveMessageQuery, receiveMessage),
	"DeleteMessage":                handle(deleteMessageQuery, deleteMessage),
	"DeleteMessageBatch":           handle(deleteMessageBatchQuery, deleteMessageBatch),
	"ChangeMessageVisibility":      handle(changeVisibilityQuery, changeVisibility),
	"ChangeMessageVisibilityBatch": handle(changeVisibilityBatchQuery, changeVisibilityBatch),
	"ListDeadLetterSourceQueues":   handle(listDLQSourcesQuery, listDLQSources),
	"StartMessageMoveTask":         handle(startMoveTaskQuery, startMoveTask),
	"CancelMessageMoveTask":        handle(cancelMoveTaskQuery, cancelMoveTask),
	"ListMessageMoveTasks":         handle(listMoveTasksQuery, listMoveTasks),
	"AddPermission":                handle[queueURLInput](nil, unsupported),
	"RemovePermission":             handle[queueURLInput](nil, unsupported),
}

func unsupported(ctx context.Context, c *call, in *queueURLInput) (any, error) {
	return nil, &queue.Error{Code: queue.ErrUnsupportedOperation, Message: c.action + " is not supported by qscale: set the queue's Policy attribute instead."}
}

type queueURLInput struct {
	QueueUrl string
}

func queueURLQuery(f form, in *queueURLInput) error {
	in.QueueUrl = f.str("QueueUrl")
	return nil
}

// xmlAttr is a map entry in the query protocol's XML.
type xmlAttr struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

func xmlAttrs(m map[string]string) []xmlAttr {
	out := make([]xmlAttr, 0, len(m))
	for k, v := range m {
		out = append(out, xmlAttr{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CreateQueue

type createQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

func createQueueQuery(f form, in *createQueueInput) error {
	in.QueueName = f.str("QueueName")
	in.Attributes = f.pairs("Attribute", "Name", "Value")
	in.Tags = f.pairs("Tag", "Key", "Value")
	return nil
}

type queueURLOutput struct {
	QueueUrl string `json:"QueueUrl" xml:"QueueUrl"`
}

func createQueue(ctx context.Context, c *call, in *createQueueInput) (any, error) {
	if in.QueueName == "" {
		return nil, missing("QueueName")
	}
	q, err := c.h.e.CreateQueue(ctx, in.QueueName, in.Attributes, in.Tags)
	if err != nil {
		return nil, err
	}
	return &queueURLOutput{QueueUrl: c.queueURL(q)}, nil
}

// GetQueueUrl

type getQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

func getQueueURLQuery(f form, in *getQueueURLInput) error {
	in.QueueName = f.str("QueueName")
	in.QueueOwnerAWSAccountId = f.str("QueueOwnerAWSAccountId")
	return nil
}

func getQueueURL(ctx context.Context, c *call, in *getQueueURLInput) (any, error) {
	if in.QueueName == "" {
		return nil, missing("QueueName")
	}
	if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != c.h.e.AccountID() {
		return nil, &queue.Error{Code: queue.ErrQueueDoesNotExist, Message: "The specified queue does not exist."}
	}
	q, err := c.h.e.Queue(in.QueueName)
	if err != nil {
		return nil, err
	}
	return &queueURLOutput{QueueUrl: c.queueURL(q)}, nil
}

// ListQueues

type listQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      *number
}

func listQueuesQuery(f form, in *listQueuesInput) (err error) {
	in.QueueNamePrefix = f.str("QueueNamePrefix")
	in.NextToken = f.str("NextToken")
	in.MaxResults, err = f.intp("MaxResults")
	return err
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

func listQueues(ctx context.Context, c *call, in *listQueuesInput) (any, error) {
	max := 0
	if in.MaxResults != nil {
		max = in.MaxResults.int()
		if max == 0 { // the engine reads 0 as not paged; a client's 0 is refused
			return nil, queue.ListQueuesResultsRange.Check(0)
		}
	}
	if in.NextToken != "" && max == 0 {
		return nil, &queue.Error{Code: queue.ErrInvalidParameterValue, Message: "MaxResults is a mandatory parameter when you provide a value for NextToken."}
	}
	token, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	qs, next, err := c.h.e.ListQueues(in.QueueNamePrefix, max, token)
	if err != nil {
		return nil, err
	}
	out := &listQueuesOutput{NextToken: encodeToken(next)}
	for _, q := range qs {
		out.QueueUrls = append(out.QueueUrls, c.queueURL(q))
	}
	return out, nil
}

// DeleteQueue

func deleteQueue(ctx context.Context, c *call, in *queueURLInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, c.h.e.DeleteQueue(ctx, q.Name())
}

// GetQueueAttributes

type getQueueAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

func getQueueAttributesQuery(f form, in *getQueueAttributesInput) error {
	in.QueueUrl = f.str("QueueUrl")
	in.AttributeNames = f.list("AttributeName")
	return nil
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

func (o *attributesOutput) xmlResult() any {
	return struct {
		Attributes []xmlAttr `xml:"Attribute"`
	}{xmlAttrs(o.Attributes)}
}

func getQueueAttributes(ctx context.Context, c *call, in *getQueueAttributesInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	attrs, err := q.Attributes(in.AttributeNames)
	if err != nil {
		return nil, err
	}
	return &attributesOutput{Attributes: attrs}, nil
}

// SetQueueAttributes

type setQueueAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

func setQueueAttributesQuery(f form, in *setQueueAttributesInput) error {
	in.QueueUrl = f.str("QueueUrl")
	in.Attributes = f.pairs("Attribute", "Name", "Value")
	return nil
}

func setQueueAttributes(ctx context.Context, c *call, in *setQueueAttributesInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.Attributes == nil {
		return nil, missing("Attributes")
	}
	return nil, q.SetAttributes(ctx, in.Attributes)
}

// PurgeQueue

func purgeQueue(ctx context.Context, c *call, in *queueURLInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, q.Purge(ctx)
}

// Tags

type tagQueueInput struct {
	QueueUrl string
	Tags     map[string]string
}

func tagQueueQuery(f form, in *tagQueueInput) error {
	in.QueueUrl = f.str("QueueUrl")
	in.Tags = f.pairs("Tag", "Key", "Value")
	return nil
}

func tagQueue(ctx context.Context, c *call, in *tagQueueInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, missing("Tags")
	}
	return nil, q.Tag(ctx, in.Tags)
}

type untagQueueInput struct {
	QueueUrl string
	TagKeys  []string
}

func untagQueueQuery(f form, in *untagQueueInput) error {
	in.QueueUrl = f.str("QueueUrl")
	in.TagKeys = f.list("TagKey")
	return nil
}

func untagQueue(ctx context.Context, c *call, in *untagQueueInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, missing("TagKeys")
	}
	return nil, q.Untag(ctx, in.TagKeys)
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

func (o *tagsOutput) xmlResult() any {
	type tag struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	}
	var tags []tag
	for _, a := range xmlAttrs(o.Tags) {
		tags = append(tags, tag{a.Name, a.Value})
	}
	return struct {
		Tags []tag `xml:"Tag"`
	}{tags}
}

func listQueueTags(ctx context.Context, c *call, in *queueURLInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return &tagsOutput{Tags: q.Tags()}, nil
}

var _ = xml.Name{}
