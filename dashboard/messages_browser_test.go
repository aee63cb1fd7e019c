package dashboard_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qscale/qscale/dashboard"
	"github.com/qscale/qscale/internal/browsertest"
	"github.com/qscale/qscale/internal/clock"
	"github.com/qscale/qscale/queue"
)

// The message browser in a real browser: it shows a queue's messages and
// one message's body without receiving them (the next receive counts 1),
// the Redrive button moves a dead-letter queue's messages back, and the
// forms create a queue and change its attributes.
func TestBrowserMessages(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	s := setup(t, setupOptions{clock: clock.Real{}, token: "browser-token", start: true})
	bg := context.Background()
	deadLetters(t, s, 3)
	dlq, err := s.engine.Queue("jobs-dlq")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.jobs.Send(bg, queue.SendInput{Body: `{"hello":"browser"}`,
		Attributes: map[string]queue.AttributeValue{"tenant": {DataType: "String", StringValue: "acme"}}}); err != nil {
		t.Fatal(err)
	}

	step := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Step(t, ctx, what, a...)
	}
	poll := func(what, expr string) {
		t.Helper()
		browsertest.Poll(t, ctx, 20*time.Second, what, expr)
	}

	step("open the page", chromedp.Navigate(s.srv.URL+"/?token=browser-token"))
	poll("the queues of the browser", `document.querySelector('#browser-queues tr[data-bq="jobs-dlq"]') !== null`)
	poll("dead-letter figures", `document.querySelector('#browser-queues [data-failed="jobs"]').textContent === "3"`)

	// The messages of jobs, and the one message: nothing is received.
	step("browse jobs", chromedp.Click(chromedp.CSS(`button[data-browse="jobs"]`)))
	poll("the message row", `document.querySelectorAll("#browser-rows tr").length === 1 &&
		document.querySelector("#browser-rows tr .receives").textContent === "0"`)
	step("open the message", chromedp.Click(chromedp.CSS(`#browser-rows tr`)))
	poll("its body and attributes", `document.getElementById("message-body").textContent === '{"hello":"browser"}' &&
		document.getElementById("message-attrs").textContent.includes("acme")`)
	zero := time.Duration(0)
	ds, err := s.jobs.Receive(bg, queue.ReceiveInput{Max: 10, Wait: &zero})
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive after browsing: %d messages, %v", len(ds), err)
	}
	if n := ds[0].State.ReceiveCount; n != 1 {
		t.Errorf("ApproximateReceiveCount after browsing = %d, want 1: the page received the message", n)
	}
	if err := s.jobs.Delete(bg, ds[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}

	step("browse jobs-dlq", chromedp.Click(chromedp.CSS(`button[data-browse="jobs-dlq"]`)))
	poll("three dead letters, received once each", `(() => { const r = [...document.querySelectorAll("#browser-rows .receives")];
		return r.length === 3 && r.every((c) => c.textContent === "1"); })()`)
	step("open a dead letter", chromedp.Click(chromedp.CSS(`#browser-rows tr`)))
	poll("its source", `document.getElementById("message-attrs").textContent.includes("Dead-letter source") &&
		document.getElementById("message-body").textContent === "poison"`)
	if c := dlq.Counts(); c.Visible != 3 || c.Inflight != 0 {
		t.Fatalf("jobs-dlq after browsing: %+v, want 3 visible", c)
	}

	// Redrive, confirmed in place: the messages go back to jobs.
	step("redrive", chromedp.Click(chromedp.CSS(`button[data-redrive="jobs-dlq"]`)))
	step("confirm", chromedp.Click(chromedp.CSS(`button.confirm-redrive`)))
	poll("the task's progress", `document.querySelector('[data-redrive-status="jobs-dlq"]').textContent === "completed: moved 3 of 3"`)
	if c, j := dlq.Counts(), s.jobs.Counts(); c.Visible != 0 || j.Visible != 3 {
		t.Fatalf("after the redrive: jobs-dlq %+v, jobs %+v", c, j)
	}

	// Create a queue with a dead-letter queue, then change it.
	step("create a queue",
		chromedp.Click(chromedp.CSS(`#create-queue-toggle`)),
		chromedp.SetValue(chromedp.CSS(`#create-name`), "from-the-page"),
		chromedp.SetValue(chromedp.CSS(`#create-visibility`), "45"),
		chromedp.SetValue(chromedp.CSS(`#create-dlq`), dlq.ARN()),
		chromedp.SetValue(chromedp.CSS(`#create-max`), "2"),
		chromedp.Click(chromedp.CSS(`#create-button`)),
	)
	poll("the new queue", `document.querySelector('#browser-queues tr[data-bq="from-the-page"]') !== null`)
	made, err := s.engine.Queue("from-the-page")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := made.Config(); cfg.Visibility != 45*time.Second || cfg.Redrive == nil || cfg.Redrive.DeadLetterTargetArn != dlq.ARN() || cfg.Redrive.MaxReceiveCount != 2 {
		t.Fatalf("created: visibility %v, redrive %+v", cfg.Visibility, cfg.Redrive)
	}
	step("edit it",
		chromedp.Click(chromedp.CSS(`button[data-edit="from-the-page"]`)),
		chromedp.SetValue(chromedp.CSS(`#edit-visibility`), "60"),
		chromedp.SetValue(chromedp.CSS(`#edit-dlq`), ""),
		chromedp.Click(chromedp.CSS(`#edit-button`)),
	)
	poll("the edit's result", `document.getElementById("browser-result").textContent === "updated from-the-page"`)
	if cfg := made.Config(); cfg.Visibility != 60*time.Second || cfg.Redrive != nil {
		t.Fatalf("edited: visibility %v, redrive %+v", cfg.Visibility, cfg.Redrive)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		browsertest.SaveArtifact(t, "messages.png", png)
	}
	browsertest.CheckConsole(t, consoleMessages())
}

// Over a Backend that cannot peek (Amazon SQS), the page says so and
// offers no messages button, rather than receiving.
func TestBrowserMessagesUnavailable(t *testing.T) {
	t.Parallel()
	ctx, consoleMessages := browsertest.Start(t)
	s := setup(t, setupOptions{})
	d, err := dashboard.New(dashboard.Options{Backend: struct{ dashboard.Backend }{s.backend}, Clock: s.clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() { d.Stop(context.Background()); srv.Close() }) // Stop ends the page's event stream
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	expr := `!document.getElementById("browser-note").hidden &&
		document.getElementById("browser-note").textContent.includes("Amazon SQS has no way to look at a message") &&
		document.querySelector('#browser-queues tr[data-bq="jobs"]') !== null &&
		document.querySelector('button[data-browse]') === null &&
		document.getElementById("create-queue-toggle").hidden`
	browsertest.Poll(t, ctx, 20*time.Second, "the note", expr)
	browsertest.CheckConsole(t, consoleMessages())
}
