package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/qscale/qscale/internal/qscalebin"
)

// TestAcknowledgedSendsSurviveKill9 sends from several clients while the
// server process is killed with SIGKILL, five times over, restarting it on
// the same data directory each time. Every message whose SendMessage or
// SendMessageBatch was answered must be delivered afterwards.
func TestAcknowledgedSendsSurviveKill9(t *testing.T) {
	bin, dir, data := killSetup(t)
	var acked sync.Map // body -> true
	var nAcked atomic.Int64
	rng := rand.New(rand.NewPCG(1, 2))

	const rounds = 5
	for round := 0; round < rounds; round++ {
		r := startRound(t, bin, data, dir, "crash", round)
		ctx, c, url := r.ctx, r.c, r.url
		// Kill after a random number of acknowledgements in this round.
		killAt := nAcked.Load() + int64(200+rng.IntN(1500))
		reached := make(chan struct{})
		var once sync.Once
		for w := 0; w < 6; w++ {
			r.wg.Add(1)
			go func(w int) {
				defer r.wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					batch := w%2 == 0
					bodies := []string{fmt.Sprintf("r%d-w%d-%d-0", round, w, i)}
					var err error
					if batch {
						var entries []types.SendMessageBatchRequestEntry
						bodies = bodies[:0]
						for j := 0; j < 10; j++ {
							b := fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j)
							bodies = append(bodies, b)
							entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(b)})
						}
						var out *sqs.SendMessageBatchOutput
						out, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
						if err == nil && len(out.Failed) > 0 {
							err = fmt.Errorf("batch entries failed: %+v", out.Failed)
						}
					} else {
						_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: &bodies[0]})
					}
					if err != nil {
						return // the server is gone
					}
					for _, b := range bodies {
						acked.Store(b, true)
					}
					if nAcked.Add(int64(len(bodies))) >= killAt {
						once.Do(func() { close(reached) })
					}
				}
			}(w)
		}
		select {
		case <-reached:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: clients stalled at %d acknowledged", round, nAcked.Load())
		}
		r.kill(t)
	}

	srv, endpoint := startServer(t, bin, data, dir)
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	seen := drain(t, endpoint, "crash")
	lost := countLost(t, &acked, "lost", func(body string) bool { return seen[body] })
	t.Logf("%d acknowledged sends over %d kills, %d delivered, %d lost", nAcked.Load(), rounds, len(seen), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged messages lost", lost)
	}
	if nAcked.Load() == 0 {
		t.Fatal("no message was acknowledged: the test proved nothing")
	}
}

// TestKill9WithReceiversAndDeleters kills the server with SIGKILL five
// times while clients send, receive and delete at once, restarting it on
// the same data directory each time. Every acknowledged send must end up
// either deleted (a DeleteMessage answered) or still in the queue after the
// last restart: deletes and receives are made durable lazily, so a kill may
// bring a deleted message back (a redelivery), but it may never lose one.
func TestKill9WithReceiversAndDeleters(t *testing.T) {
	bin, dir, data := killSetup(t)
	// acked: sends answered; deleteSent: deletes asked for (a kill may take
	// the answer of one the server applied); deleted: deletes answered.
	var acked, deleteSent, deleted sync.Map // body -> true
	var nAcked, nDeleted atomic.Int64
	rng := rand.New(rand.NewPCG(3, 4))

	const rounds = 5
	for round := 0; round < rounds; round++ {
		r := startRound(t, bin, data, dir, "churn", round)
		ctx, c, url := r.ctx, r.c, r.url
		killAt := nAcked.Load() + int64(300+rng.IntN(1500))
		reached := make(chan struct{})
		var once sync.Once
		for w := 0; w < 3; w++ {
			r.wg.Add(1)
			go func(w int) {
				defer r.wg.Done()
				sendBatches(ctx, c, url, fmt.Sprintf("r%d-w%d", round, w), &acked, &nAcked, func() {
					if nAcked.Load() >= killAt {
						once.Do(func() { close(reached) })
					}
				})
			}(w)
		}
		for range 3 {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				for ctx.Err() == nil {
					out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: 1, WaitTimeSeconds: 1})
					if err != nil {
						return
					}
					if len(out.Messages) == 0 {
						continue
					}
					var entries []types.DeleteMessageBatchRequestEntry
					bodies := map[string]string{}
					for i, m := range out.Messages {
						id := fmt.Sprint(i)
						bodies[id] = *m.Body
						deleteSent.Store(*m.Body, true)
						entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: &id, ReceiptHandle: m.ReceiptHandle})
					}
					del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: entries})
					if err != nil {
						return
					}
					for _, s := range del.Successful {
						deleted.Store(bodies[*s.Id], true)
						nDeleted.Add(1)
					}
				}
			}()
		}
		select {
		case <-reached:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: clients stalled at %d acknowledged", round, nAcked.Load())
		}
		r.kill(t)
	}

	srv, endpoint := startServer(t, bin, data, dir)
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	c := newClient(endpoint)
	url := endpoint + "/000000000000/churn"
	ctx := context.Background()
	seen := map[string]bool{}
	// Messages received before a kill may still be in flight for their 1 s
	// visibility timeout: drain until the queue is empty of all of them.
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			seen[*m.Body] = true
		}
		if len(out.Messages) > 0 {
			continue
		}
		attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if attrs.Attributes["ApproximateNumberOfMessages"] == "0" && attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] == fmt.Sprint(len(seen)) {
			break
		}
	}
	lost := countLost(t, &acked, "neither deleted nor in the queue", func(body string) bool {
		_, del := deleted.Load(body)
		_, asked := deleteSent.Load(body)
		return del || asked || seen[body]
	})
	t.Logf("%d acknowledged sends, %d acknowledged deletes over %d kills; %d left in the queue, %d lost", nAcked.Load(), nDeleted.Load(), rounds, len(seen), lost)
	if lost > 0 {
		t.Fatalf("%d acknowledged messages lost", lost)
	}
	if nAcked.Load() == 0 || nDeleted.Load() == 0 {
		t.Fatal("nothing was both sent and deleted: the test proved nothing")
	}
}

// sendBatches sends batches of ten messages (bodies prefix-i-j) to url
// until ctx ends or a send fails (the server is gone). Each body whose
// entry was acknowledged goes into acked and counts in n; after, when not
// nil, runs after each batch.
func sendBatches(ctx context.Context, c *sqs.Client, url, prefix string, acked *sync.Map, n *atomic.Int64, after func()) {
	for i := 0; ctx.Err() == nil; i++ {
		var entries []types.SendMessageBatchRequestEntry
		for j := 0; j < 10; j++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprintf("%s-%d-%d", prefix, i, j))})
		}
		out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries})
		if err != nil {
			return
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[*f.Id] = true
		}
		for _, e := range entries {
			if !failed[*e.Id] {
				acked.Store(*e.MessageBody, true)
				n.Add(1)
			}
		}
		if after != nil {
			after()
		}
	}
}

// killSetup skips the test in -short mode (it builds and kills server
// processes), runs it in parallel, and returns the qscale binary, a
// temporary directory and the data directory in it.
func killSetup(t *testing.T) (bin, dir, data string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills server processes")
	}
	t.Parallel()
	dir = t.TempDir()
	return qscalebin.Path(t), dir, filepath.Join(dir, "data")
}

// crashRound is one run of the server process on a data directory, ended
// by kill: its clients send (and receive) on ctx under wg.
type crashRound struct {
	srv      *exec.Cmd
	endpoint string
	url      string // the queue's URL
	c        *sqs.Client
	ctx      context.Context
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// startRound starts the server process on data with any extra flags. In
// round 0 it creates the queue; in later rounds the queue must be there
// still.
func startRound(t *testing.T, bin, data, dir, queue string, round int, extra ...string) *crashRound {
	t.Helper()
	r := &crashRound{}
	r.srv, r.endpoint = startServer(t, bin, data, dir, extra...)
	r.c = newClient(r.endpoint)
	r.ctx, r.stop = context.WithCancel(context.Background())
	if round == 0 {
		if _, err := r.c.CreateQueue(r.ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)}); err != nil {
			t.Fatal(err)
		}
	} else if _, err := r.c.GetQueueUrl(r.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)}); err != nil {
		t.Fatalf("round %d: the restarted server lost its queue: %v", round, err)
	}
	r.url = r.endpoint + "/000000000000/" + queue
	return r
}

// kill ends the round: SIGKILL to the server, then its clients stop.
func (r *crashRound) kill(t *testing.T) {
	t.Helper()
	if err := r.srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.srv.Wait()
	r.stop()
	r.wg.Wait()
}

// countLost reports each acknowledged body (up to five) that kept does not
// account for, as "acknowledged message <body> <what>", and returns how
// many there are.
func countLost(t *testing.T, acked *sync.Map, what string, kept func(body string) bool) int {
	t.Helper()
	lost := 0
	acked.Range(func(k, _ any) bool {
		if !kept(k.(string)) {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged message %s %s", k, what)
			}
		}
		return true
	})
	return lost
}

func newClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// startServer starts a durable server process with any extra flags and
// waits for its address.
func startServer(t *testing.T, bin, data, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	addrFile := filepath.Join(dir, "addr")
	os.Remove(addrFile)
	cmd := exec.Command(bin, append([]string{"server", "--data-dir", data, "--listen", "127.0.0.1:0", "--addr-file", addrFile}, extra...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, "http://" + readAddr(t, addrFile)
}

func TestMain(m *testing.M) {
	code := m.Run()
	qscalebin.Cleanup()
	os.Exit(code)
}
