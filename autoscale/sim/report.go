package sim

import (
	"fmt"
	"io"
	"strings"
	"time"
)

func clockOf(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// WriteReport writes the result as text; with actions, every scaling action
// follows, one per line.
func (r *Result) WriteReport(w io.Writer, actions bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario   %s, mode %s, %s, bounds %d..%d, objective %s\n", r.Scenario, r.Mode, r.Duration, r.Bounds.Min, r.Bounds.Max, r.Objective)
	fmt.Fprintf(&b, "messages   arrived %d, completed %d, still queued %d\n", r.Arrived, r.Completed, r.Remaining)
	fmt.Fprintf(&b, "wait       p50 %s  p95 %s  p99 %s  max %s\n", r.WaitP50, r.WaitP95, r.WaitP99, r.WaitMax)
	fmt.Fprintf(&b, "cost       %.0f worker-seconds (%.2f worker-hours), peak %d workers\n", r.WorkerSeconds, r.WorkerSeconds/3600, r.PeakWorkers)
	first := "none"
	if r.FirstScaleOut >= 0 {
		first = r.FirstScaleOut.String() + " after the first arrival"
	}
	fmt.Fprintf(&b, "oracle     %.0f worker-seconds, peak %d workers; cost %.2fx the oracle's\n", r.Oracle.WorkerSeconds, r.Oracle.Peak, r.OracleRatio())
	fmt.Fprintf(&b, "scaling    %d actions, %d direction reversals (budget %d: %d arrival episodes, %s), first scale-out %s\n",
		len(r.Actions), r.Reversals, r.AllowedReversals(), r.Episodes, r.Duration, first)
	fmt.Fprintf(&b, "objective  oldest message waited over %s for %s\n", r.Objective, r.AboveObjective)
	if n := len(r.EpisodeMaxWait); n > 0 && n <= 24 {
		waits := make([]string, n)
		for i, w := range r.EpisodeMaxWait {
			waits[i] = w.String()
		}
		fmt.Fprintf(&b, "episodes   longest wait of each: %s\n", strings.Join(waits, " "))
	}
	if actions {
		for _, a := range r.Actions {
			fmt.Fprintf(&b, "  %s  %3d -> %3d  %s\n", clockOf(a.At), a.From, a.To, a.Rule)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSVG draws the run: visible messages on top, desired, running and
// starting workers below, on a shared time axis. It needs a Result run with
// KeepTimeline.
func (r *Result) WriteSVG(w io.Writer) error {
	const (
		W, H   = 1000, 560
		left   = 70
		right  = 20
		plotW  = W - left - right
		top1   = 50
		h1     = 200
		top2   = 310
		h2     = 200
		points = 1000
	)
	tl := r.Timeline
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">qscale sim: %s (%s mode) — p50 %s, p99 %s, %.2f worker-hours, %d actions</text>`+"\n",
		left, esc(r.Scenario), r.Mode, r.WaitP50, r.WaitP99, r.WorkerSeconds/3600, len(r.Actions))
	if len(tl) == 0 {
		b.WriteString(`<text x="70" y="100">no timeline recorded</text></svg>` + "\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	// Downsample to at most points columns: max visible, last fleet sizes.
	per := (len(tl) + points - 1) / points
	type col struct {
		at                         time.Duration
		visible                    int
		desired, running, starting int
	}
	var cols []col
	maxV, maxW := 1, 1
	for i := 0; i < len(tl); i += per {
		c := col{at: tl[i].At}
		for _, s := range tl[i:min(i+per, len(tl))] {
			c.visible = max(c.visible, s.Visible)
			c.desired, c.running, c.starting = s.Desired, s.Running, s.Starting
		}
		cols = append(cols, c)
		maxV = max(maxV, c.visible)
		maxW = max(maxW, c.desired, c.running+c.starting)
	}
	maxV = niceCeil(maxV)
	maxW = niceCeil(maxW)
	end := tl[len(tl)-1].At
	x := func(at time.Duration) float64 { return left + float64(plotW)*at.Seconds()/end.Seconds() }
	axis := func(top, h, maxY int, label string) {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, plotW, h)
		for k := 0; k <= 4; k++ {
			y := top + h - h*k/4
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/><text x="%d" y="%d" text-anchor="end">%d</text>`+"\n",
				left, y, left+plotW, y, left-6, y+4, maxY*k/4)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, top-8, label)
	}
	axis(top1, h1, maxV, "visible messages")
	axis(top2, h2, maxW, "workers: desired (blue), running (green), running + starting (orange)")
	for k := 0; k <= 6; k++ {
		at := end * time.Duration(k) / 6
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(at), top2+h2+18, clockOf(at))
	}
	line := func(color string, top, h, maxY int, step bool, val func(c col) int) {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, color)
		prevY := -1.0
		for _, c := range cols {
			y := float64(top+h) - float64(h)*float64(val(c))/float64(maxY)
			if step && prevY >= 0 {
				fmt.Fprintf(&b, "%.1f,%.1f ", x(c.at), prevY)
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x(c.at), y)
			prevY = y
		}
		b.WriteString("\"/>\n")
	}
	line("#c33", top1, h1, maxV, false, func(c col) int { return c.visible })
	line("#f90", top2, h2, maxW, true, func(c col) int { return c.running + c.starting })
	line("#2a2", top2, h2, maxW, true, func(c col) int { return c.running })
	line("#36c", top2, h2, maxW, true, func(c col) int { return c.desired })
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func niceCeil(v int) int {
	p := 1
	for p*10 < v {
		p *= 10
	}
	for _, m := range []int{1, 2, 4, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
