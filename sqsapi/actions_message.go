package sqsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qscale/qscale/queue"
)

// jsonAttr is a message attribute in the JSON protocol.
type jsonAttr struct {
	DataType         string
	StringValue      *string  `json:",omitempty"`
	BinaryValue      []byte   `json:",omitempty"`
	StringListValues []string `json:",omitempty"`
	BinaryListValues [][]byte `json:",omitempty"`
}

func toEngineAttrs(m map[string]jsonAttr) (map[string]queue.AttributeValue, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]queue.AttributeValue, len(m))
	for k, v := range m {
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, &queue.Error{Code: queue.ErrInvalidParameterValue, Message: "Message attribute list values in '" + k + "' are not supported."}
		}
		a := queue.AttributeValue{DataType: v.DataType, BinaryValue: v.BinaryValue}
		if v.StringValue != nil {
			a.StringValue = *v.StringValue
		}
		out[k] = a
	}
	return out, nil
}

func fromEngineAttrs(m map[string]queue.AttributeValue) map[string]jsonAttr {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]jsonAttr, len(m))
	for k, v := range m {
		a := jsonAttr{DataType: v.DataType, BinaryValue: v.BinaryValue}
		if v.BinaryValue == nil {
			s := v.StringValue
			a.StringValue = &s
		}
		out[k] = a
	}
	return out
}

// SendMessage

type sendEntry struct {
	Id                      string
	MessageBody             *string
	DelaySeconds            *number
	MessageAttributes       map[string]jsonAttr
	MessageSystemAttributes map[string]jsonAttr
	MessageDeduplicationId  string
	MessageGroupId          string
}

type sendMessageInput struct {
	QueueUrl string
	sendEntry
}

func sendEntryQuery(f form, e *sendEntry) (err error) {
	e.Id = f.str("Id")
	e.MessageBody = f.strp("MessageBody")
	if e.DelaySeconds, err = f.intp("DelaySeconds"); err != nil {
		return err
	}
	if e.MessageAttributes, err = f.msgAttrs("MessageAttribute"); err != nil {
		return err
	}
	if e.MessageSystemAttributes, err = f.msgAttrs("MessageSystemAttribute"); err != nil {
		return err
	}
	e.MessageDeduplicationId = f.str("MessageDeduplicationId")
	e.MessageGroupId = f.str("MessageGroupId")
	return nil
}

func sendMessageQuery(f form, in *sendMessageInput) error {
	in.QueueUrl = f.str("QueueUrl")
	return sendEntryQuery(f, &in.sendEntry)
}

func (e *sendEntry) toInput(senderID string) (queue.SendInput, error) {
	in := queue.SendInput{GroupID: e.MessageGroupId, DedupID: e.MessageDeduplicationId, SenderID: senderID}
	if e.MessageBody == nil {
		return in, missing("MessageBody")
	}
	in.Body = *e.MessageBody
	var err error
	if in.Delay, err = e.DelaySeconds.seconds(queue.DelaySecondsRange); err != nil {
		return in, err
	}
	if in.Attributes, err = toEngineAttrs(e.MessageAttributes); err != nil {
		return in, err
	}
	if in.SystemAttributes, err = toEngineAttrs(e.MessageSystemAttributes); err != nil {
		return in, err
	}
	return in, nil
}

type sendMessageOutput struct {
	MessageId                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty" xml:",omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty" xml:",omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty" xml:",omitempty"`
}

func toSendOutput(r queue.SendResult) sendMessageOutput {
	return sendMessageOutput{MessageId: r.MessageID, MD5OfMessageBody: r.BodyMD5, MD5OfMessageAttributes: r.AttributesMD5,
		MD5OfMessageSystemAttributes: r.SystemMD5, SequenceNumber: r.SequenceNumber}
}

func (c *call) senderID() string { return c.h.e.AccountID() }

func sendMessage(ctx context.Context, c *call, in *sendMessageInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	si, err := in.toInput(c.senderID())
	if err != nil {
		return nil, err
	}
	r, err := q.Send(ctx, si)
	if err != nil {
		return nil, err
	}
	out := toSendOutput(r)
	return &out, nil
}

// Batches

type batchError struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty" xml:",omitempty"`
}

// toBatchError is err as a failed entry of a batch: the code, the text SQS
// gives it there (queue.Error.BatchMessage) and SenderFault, true for the
// client's errors and false for the server's (an internal or storage error,
// which a client may retry).
func toBatchError(id string, err error) batchError {
	we := toWire(err)
	msg := we.Message
	var qe *queue.Error
	if errors.As(err, &qe) {
		msg = qe.BatchMessage()
	}
	return batchError{Id: id, SenderFault: queue.Code(we.Code).Info().Sender, Code: we.Code, Message: msg}
}

type sendMessageBatchInput struct {
	QueueUrl string
	Entries  []sendEntry
}

func sendMessageBatchQuery(f form, in *sendMessageBatchInput) error {
	in.QueueUrl = f.str("QueueUrl")
	entries, err := f.batchEntries("SendMessageBatchRequestEntry")
	if err != nil {
		return err
	}
	for _, ef := range entries {
		var e sendEntry
		if err := sendEntryQuery(ef, &e); err != nil {
			return err
		}
		in.Entries = append(in.Entries, e)
	}
	return nil
}

type sendBatchResultEntry struct {
	Id string `json:"Id"`
	sendMessageOutput
}

type sendMessageBatchOutput struct {
	Successful []sendBatchResultEntry `json:"Successful" xml:"SendMessageBatchResultEntry"`
	Failed     []batchError           `json:"Failed" xml:"BatchResultErrorEntry"`
}

func sendMessageBatch(ctx context.Context, c *call, in *sendMessageBatchInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := queue.CheckBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	out := &sendMessageBatchOutput{Successful: []sendBatchResultEntry{}, Failed: []batchError{}}
	var ins []queue.SendInput
	var idx []int
	for i := range in.Entries {
		si, err := in.Entries[i].toInput(c.senderID())
		if err != nil {
			out.Failed = append(out.Failed, toBatchError(in.Entries[i].Id, err))
			continue
		}
		ins = append(ins, si)
		idx = append(idx, i)
	}
	if err := q.CheckSendBatch(ins); err != nil {
		return nil, err
	}
	for j, o := range q.SendBatch(ctx, ins) {
		id := in.Entries[idx[j]].Id
		if o.Err != nil {
			out.Failed = append(out.Failed, toBatchError(id, o.Err))
			continue
		}
		out.Successful = append(out.Successful, sendBatchResultEntry{Id: id, sendMessageOutput: toSendOutput(o.Result)})
	}
	return out, nil
}

// ReceiveMessage

type receiveMessageInput struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *number
	VisibilityTimeout           *number
	WaitTimeSeconds             *number
	ReceiveRequestAttemptId     string
}

func receiveMessageQuery(f form, in *receiveMessageInput) (err error) {
	in.QueueUrl = f.str("QueueUrl")
	in.AttributeNames = f.list("AttributeName")
	in.MessageSystemAttributeNames = f.list("MessageSystemAttributeName")
	in.MessageAttributeNames = f.list("MessageAttributeName")
	if in.MaxNumberOfMessages, err = f.intp("MaxNumberOfMessages"); err != nil {
		return err
	}
	if in.VisibilityTimeout, err = f.intp("VisibilityTimeout"); err != nil {
		return err
	}
	if in.WaitTimeSeconds, err = f.intp("WaitTimeSeconds"); err != nil {
		return err
	}
	in.ReceiveRequestAttemptId = f.str("ReceiveRequestAttemptId")
	return nil
}

type messageOutput struct {
	MessageId              string              `json:"MessageId"`
	ReceiptHandle          string              `json:"ReceiptHandle"`
	MD5OfBody              string              `json:"MD5OfBody"`
	Body                   string              `json:"Body"`
	Attributes             map[string]string   `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string              `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]jsonAttr `json:"MessageAttributes,omitempty"`
}

type receiveMessageOutput struct {
	Messages []messageOutput `json:"Messages,omitempty"`
}

type xmlMessageAttr struct {
	Name  string `xml:"Name"`
	Value struct {
		StringValue string `xml:"StringValue,omitempty"`
		BinaryValue string `xml:"BinaryValue,omitempty"`
		DataType    string `xml:"DataType"`
	} `xml:"Value"`
}

type xmlMessage struct {
	MessageId              string           `xml:"MessageId"`
	ReceiptHandle          string           `xml:"ReceiptHandle"`
	MD5OfBody              string           `xml:"MD5OfBody"`
	Body                   string           `xml:"Body"`
	Attributes             []xmlAttr        `xml:"Attribute"`
	MD5OfMessageAttributes string           `xml:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      []xmlMessageAttr `xml:"MessageAttribute"`
}

func (o *receiveMessageOutput) xmlResult() any {
	msgs := make([]xmlMessage, len(o.Messages))
	for i, m := range o.Messages {
		x := xmlMessage{MessageId: m.MessageId, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body,
			Attributes: xmlAttrs(m.Attributes), MD5OfMessageAttributes: m.MD5OfMessageAttributes}
		names := make([]string, 0, len(m.MessageAttributes))
		for n := range m.MessageAttributes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := m.MessageAttributes[n]
			var xa xmlMessageAttr
			xa.Name = n
			xa.Value.DataType = a.DataType
			if a.StringValue != nil {
				xa.Value.StringValue = *a.StringValue
			}
			if a.BinaryValue != nil {
				xa.Value.BinaryValue = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			x.MessageAttributes = append(x.MessageAttributes, xa)
		}
		msgs[i] = x
	}
	return struct {
		Messages []xmlMessage `xml:"Message"`
	}{msgs}
}

var systemAttributeNames = []string{
	"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
}

func systemAttributes(d queue.Delivery, want map[string]bool) map[string]string {
	if len(want) == 0 {
		return nil
	}
	all := want["All"]
	out := map[string]string{}
	put := func(name, v string) {
		if (all || want[name]) && v != "" {
			out[name] = v
		}
	}
	put("SenderId", d.SenderID)
	put("SentTimestamp", strconv.FormatInt(d.SentAt.UnixMilli(), 10))
	put("ApproximateReceiveCount", strconv.Itoa(d.State.ReceiveCount))
	put("ApproximateFirstReceiveTimestamp", strconv.FormatInt(d.State.FirstReceiveAt.UnixMilli(), 10))
	put("SequenceNumber", d.SequenceNumber)
	put("MessageDeduplicationId", d.DedupID)
	put("MessageGroupId", d.GroupID)
	put("DeadLetterQueueSourceArn", d.DeadLetterSource)
	if v, ok := d.SystemAttributes["AWSTraceHeader"]; ok {
		put("AWSTraceHeader", v.StringValue)
	}
	return out
}

// selectAttributes returns the message attributes the request asked for:
// "All", ".*", exact names or "prefix.*".
func selectAttributes(attrs map[string]queue.AttributeValue, names []string) map[string]queue.AttributeValue {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := map[string]queue.AttributeValue{}
	for k, v := range attrs {
		for _, n := range names {
			if n == "All" || n == ".*" || n == k || (strings.HasSuffix(n, ".*") && strings.HasPrefix(k, strings.TrimSuffix(n, "*"))) {
				out[k] = v
				break
			}
		}
	}
	return out
}

func receiveMessage(ctx context.Context, c *call, in *receiveMessageInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ri := queue.ReceiveInput{Max: 1}
	if in.MaxNumberOfMessages != nil {
		ri.Max = in.MaxNumberOfMessages.int()
		if ri.Max == 0 { // the engine reads 0 as unset; a client's 0 is refused
			return nil, queue.MaxNumberOfMessagesRange.Check(0)
		}
	}
	if ri.Visibility, err = in.VisibilityTimeout.seconds(queue.ReceiveVisibilityRange); err != nil {
		return nil, err
	}
	if ri.Wait, err = in.WaitTimeSeconds.seconds(queue.WaitTimeSecondsRange); err != nil {
		return nil, err
	}
	if c.canPark() {
		wait := q.Config().ReceiveWait
		if ri.Wait != nil {
			wait = *ri.Wait
		}
		if wait > 0 {
			// Look without waiting; park the connection if there is
			// nothing yet.
			now := ri
			now.Wait = new(time.Duration)
			ds, err := q.Receive(ctx, now)
			if err != nil || len(ds) > 0 || ctx.Err() != nil {
				return c.receiveAnswer(ctx, q, in, ds, err)
			}
			if c.park(ctx, q, in, ri) {
				return parked, nil
			}
		}
	}
	ds, err := q.Receive(ctx, ri)
	return c.receiveAnswer(ctx, q, in, ds, err)
}

// receiveAnswer is the answer to a ReceiveMessage that took ds.
func (c *call) receiveAnswer(ctx context.Context, q *queue.Queue, in *receiveMessageInput, ds []queue.Delivery, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if len(ds) > 0 && ctx.Err() != nil {
		// The client went away (a worker that stops cancels its long
		// poll) while the messages were being taken: no one will read
		// this answer, so the receive is undone and the messages are
		// visible again at once, as if it never happened.
		q.Return(context.WithoutCancel(ctx), ds)
		return &receiveMessageOutput{}, nil
	}
	return c.receiveOutput(in, ds), nil
}

// receiveOutput encodes the deliveries ds with the attributes in asked for.
func (c *call) receiveOutput(in *receiveMessageInput, ds []queue.Delivery) *receiveMessageOutput {
	want := map[string]bool{}
	for _, n := range in.AttributeNames {
		want[n] = true
	}
	for _, n := range in.MessageSystemAttributeNames {
		want[n] = true
	}
	out := &receiveMessageOutput{}
	for _, d := range ds {
		sel := selectAttributes(d.Attributes, in.MessageAttributeNames)
		m := messageOutput{
			MessageId: d.ID, ReceiptHandle: d.ReceiptHandle, MD5OfBody: d.BodyMD5, Body: d.Body,
			Attributes: systemAttributes(d, want), MessageAttributes: fromEngineAttrs(sel),
		}
		if len(sel) > 0 {
			if len(sel) == len(d.Attributes) {
				m.MD5OfMessageAttributes = d.AttributesMD5
			} else {
				m.MD5OfMessageAttributes = queue.AttributesMD5(sel)
			}
		}
		out.Messages = append(out.Messages, m)
	}
	return out
}

// DeleteMessage

type deleteMessageInput struct {
	QueueUrl      string
	ReceiptHandle string
}

func deleteMessageQuery(f form, in *deleteMessageInput) error {
	in.QueueUrl = f.str("QueueUrl")
	in.ReceiptHandle = f.str("ReceiptHandle")
	return nil
}

func deleteMessage(ctx context.Context, c *call, in *deleteMessageInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	return nil, q.Delete(ctx, in.ReceiptHandle)
}

type deleteEntry struct {
	Id            string
	ReceiptHandle string
}

type deleteMessageBatchInput struct {
	QueueUrl string
	Entries  []deleteEntry
}

func deleteMessageBatchQuery(f form, in *deleteMessageBatchInput) error {
	in.QueueUrl = f.str("QueueUrl")
	entries, err := f.batchEntries("DeleteMessageBatchRequestEntry")
	if err != nil {
		return err
	}
	for _, ef := range entries {
		in.Entries = append(in.Entries, deleteEntry{Id: ef.str("Id"), ReceiptHandle: ef.str("ReceiptHandle")})
	}
	return nil
}

type idEntry struct {
	Id string `json:"Id" xml:"Id"`
}

type deleteMessageBatchOutput struct {
	Successful []idEntry    `json:"Successful" xml:"DeleteMessageBatchResultEntry"`
	Failed     []batchError `json:"Failed" xml:"BatchResultErrorEntry"`
}

func deleteMessageBatch(ctx context.Context, c *call, in *deleteMessageBatchInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	handles := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i], handles[i] = e.Id, e.ReceiptHandle
	}
	if err := queue.CheckBatch("DeleteMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	out := &deleteMessageBatchOutput{Successful: []idEntry{}, Failed: []batchError{}}
	for i, e := range q.DeleteBatch(ctx, handles) {
		if e != nil {
			out.Failed = append(out.Failed, toBatchError(ids[i], e))
		} else {
			out.Successful = append(out.Successful, idEntry{ids[i]})
		}
	}
	return out, nil
}

// ChangeMessageVisibility

type changeVisibilityInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout *number
}

func changeVisibilityQuery(f form, in *changeVisibilityInput) (err error) {
	in.QueueUrl = f.str("QueueUrl")
	in.ReceiptHandle = f.str("ReceiptHandle")
	in.VisibilityTimeout, err = f.intp("VisibilityTimeout")
	return err
}

func changeVisibility(ctx context.Context, c *call, in *changeVisibilityInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	if in.VisibilityTimeout == nil {
		return nil, missing("VisibilityTimeout")
	}
	timeout, err := in.VisibilityTimeout.seconds(queue.ChangeVisibilityRange)
	if err != nil {
		return nil, err
	}
	return nil, q.ChangeVisibility(ctx, queue.VisibilityChange{ReceiptHandle: in.ReceiptHandle, Timeout: *timeout})
}

type changeVisibilityEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout *number
}

type changeVisibilityBatchInput struct {
	QueueUrl string
	Entries  []changeVisibilityEntry
}

func changeVisibilityBatchQuery(f form, in *changeVisibilityBatchInput) error {
	in.QueueUrl = f.str("QueueUrl")
	entries, err := f.batchEntries("ChangeMessageVisibilityBatchRequestEntry")
	if err != nil {
		return err
	}
	for _, ef := range entries {
		e := changeVisibilityEntry{Id: ef.str("Id"), ReceiptHandle: ef.str("ReceiptHandle")}
		var err error
		if e.VisibilityTimeout, err = ef.intp("VisibilityTimeout"); err != nil {
			return err
		}
		in.Entries = append(in.Entries, e)
	}
	return nil
}

type changeVisibilityBatchOutput struct {
	Successful []idEntry    `json:"Successful" xml:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []batchError `json:"Failed" xml:"BatchResultErrorEntry"`
}

func changeVisibilityBatch(ctx context.Context, c *call, in *changeVisibilityBatchInput) (any, error) {
	q, err := c.queue(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := queue.CheckBatch("ChangeMessageVisibilityBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	out := &changeVisibilityBatchOutput{Successful: []idEntry{}, Failed: []batchError{}}
	var changes []queue.VisibilityChange
	var idx []int
	for i, e := range in.Entries {
		if e.VisibilityTimeout == nil {
			out.Failed = append(out.Failed, toBatchError(e.Id, missing("VisibilityTimeout")))
			continue
		}
		timeout, err := e.VisibilityTimeout.seconds(queue.ChangeVisibilityRange)
		if err != nil {
			out.Failed = append(out.Failed, toBatchError(e.Id, err))
			continue
		}
		changes = append(changes, queue.VisibilityChange{ReceiptHandle: e.ReceiptHandle, Timeout: *timeout})
		idx = append(idx, i)
	}
	for j, e := range q.ChangeVisibilityBatch(ctx, changes) {
		id := in.Entries[idx[j]].Id
		if e != nil {
			out.Failed = append(out.Failed, toBatchError(id, e))
		} else {
			out.Successful = append(out.Successful, idEntry{id})
		}
	}
	return out, nil
}
