package queue_test

import (
	"context"
	"fmt"

	"github.com/qscale/qscale/queue"
)

// Peek reads a queue's messages a page at a time without receiving them.
func ExampleQueue_Peek() {
	ctx := context.Background()
	e, _ := queue.Open(ctx, queue.Options{})
	defer e.Stop(ctx)
	q, _ := e.CreateQueue(ctx, "jobs", nil, nil)
	for _, body := range []string{"one", "two", "three"} {
		q.Send(ctx, queue.SendInput{Body: body})
	}
	o := queue.PeekOptions{Limit: 2}
	for {
		page, err := q.Peek(ctx, o)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, m := range page.Messages {
			fmt.Println(m.Body, m.State, m.ReceiveCount)
		}
		if page.Next == 0 {
			break
		}
		o.After = page.Next
	}
	fmt.Println("still visible:", q.Counts().Visible)
	// Output:
	// one visible 0
	// two visible 0
	// three visible 0
	// still visible: 3
}
