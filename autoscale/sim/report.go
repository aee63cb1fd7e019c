package sim

import (
	"fmt"
	"io"
	"math"
	"strconv"
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

// WriteSVG draws the run alone (see WriteChart).
func (r *Result) WriteSVG(w io.Writer) error { return WriteChart(w, r) }

// chartStyle is how one run is drawn: qscale in a dark solid line on top,
// the AWS emulation in a wider, lighter one underneath, so that neither
// hides the other where they coincide.
func chartStyle(m Mode, i int) (color, width, dash string) {
	if m == AWS {
		return "#e8891c", "3", ""
	}
	colors := []string{"#1f5fbf", "#2a9d3a", "#8a3fb8"}
	return colors[i%len(colors)], "1.6", ""
}

// WriteChart draws runs of the same scenario on one time axis, one panel
// above the other: visible messages; workers paid for (running plus
// starting); and the oldest visible message's age against the objective.
// Each run needs KeepTimeline. Axes have round ticks and titles.
func WriteChart(w io.Writer, runs ...*Result) error {
	const (
		W, left, right = 1000, 80, 40
		plotW          = W - left - right
		panelH, gap    = 170, 60
		points         = 900
	)
	top0 := 44 + 16*len(runs) + 36 // below the legend
	H := top0 + 3*panelH + 2*gap + 56
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	if len(runs) == 0 || len(runs[0].Timeline) == 0 {
		b.WriteString(`<text x="80" y="40">no timeline recorded</text></svg>` + "\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	r0 := runs[0]
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">qscale sim: %s, objective %s, bounds %d..%d</text>`+"\n",
		left, esc(r0.Scenario), r0.Objective, r0.Bounds.Min, r0.Bounds.Max)
	// Legend: one entry per run, with its figures.
	for i, r := range runs {
		color, width, _ := chartStyle(r.Mode, i)
		y := 44 + 16*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%s"/>`, left, y-4, left+24, y-4, color, width)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s: p99 wait %s, %.2f worker-hours (%.2fx the oracle's), %d actions</text>`+"\n",
			left+30, y, r.Mode, r.WaitP99, r.WorkerSeconds/3600, r.OracleRatio(), len(r.Actions))
	}
	var end time.Duration
	for _, r := range runs {
		if n := len(r.Timeline); n > 0 {
			end = max(end, r.Timeline[n-1].At)
		}
	}
	if end <= 0 {
		end = time.Second
	}
	x := func(at time.Duration) float64 { return left + float64(plotW)*at.Seconds()/end.Seconds() }

	// Columns of at most points per run: the highest value of each.
	type col struct {
		at               time.Duration
		visible, workers int
		oldest           float64
	}
	cols := make([][]col, len(runs))
	var maxV, maxW, maxA float64 = 1, 1, r0.Objective.Seconds() * 1.5
	for i, r := range runs {
		tl := r.Timeline
		per := max(1, (len(tl)+points-1)/points)
		for k := 0; k < len(tl); k += per {
			c := col{at: tl[min(k+per, len(tl))-1].At}
			for _, s := range tl[k:min(k+per, len(tl))] {
				c.visible = max(c.visible, s.Visible)
				c.workers = max(c.workers, s.Running+s.Starting)
				c.oldest = max(c.oldest, s.Oldest.Seconds())
			}
			cols[i] = append(cols[i], c)
			maxV, maxW, maxA = max(maxV, float64(c.visible)), max(maxW, float64(c.workers)), max(maxA, c.oldest)
		}
	}
	panel := func(idx int, title, unit string, maxY float64, val func(c col) float64, extra func(y func(float64) float64)) {
		top := top0 + idx*(panelH+gap)
		ticks := niceTicks(maxY)
		hi := ticks[len(ticks)-1]
		y := func(v float64) float64 { return float64(top+panelH) - float64(panelH)*v/hi }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", left, top-10, title)
		for _, t := range ticks {
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
				left, y(t), left+plotW, y(t), left-6, y(t)+4, fmtTick(t))
		}
		fmt.Fprintf(&b, `<text transform="translate(%d,%d) rotate(-90)" text-anchor="middle" fill="#444">%s</text>`+"\n", 18, top+panelH/2, unit)
		if extra != nil {
			extra(y)
		}
		// AWS first, underneath.
		order := make([]int, 0, len(runs))
		for i, r := range runs {
			if r.Mode == AWS {
				order = append(order, i)
			}
		}
		for i, r := range runs {
			if r.Mode != AWS {
				order = append(order, i)
			}
		}
		for _, i := range order {
			color, width, dash := chartStyle(runs[i].Mode, i)
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s points="`, color, width, dash)
			prev := -1.0
			for _, c := range cols[i] {
				v := y(val(c))
				if prev >= 0 {
					fmt.Fprintf(&b, "%.1f,%.1f ", x(c.at), prev) // a step: the value holds until it changes
				}
				fmt.Fprintf(&b, "%.1f,%.1f ", x(c.at), v)
				prev = v
			}
			b.WriteString("\"/>\n")
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plotW, panelH)
	}
	panel(0, "Visible messages", "messages", maxV, func(c col) float64 { return float64(c.visible) }, nil)
	panel(1, "Workers paid for (running + starting)", "workers", maxW, func(c col) float64 { return float64(c.workers) }, nil)
	panel(2, "Oldest visible message's age, against the objective", "seconds", maxA, func(c col) float64 { return c.oldest }, func(y func(float64) float64) {
		o := r0.Objective.Seconds()
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c22" stroke-dasharray="6 4"/><text x="%d" y="%.1f" text-anchor="end" fill="#c22">objective %s</text>`+"\n",
			left, y(o), left+plotW, y(o), left+plotW-4, y(o)-4, r0.Objective)
	})
	// The time axis, under the last panel.
	axisY := top0 + 3*panelH + 2*gap
	step := timeStep(end)
	for at := time.Duration(0); at <= end; at += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x(at), axisY, x(at), axisY+5, x(at), axisY+18, fmtClock(at))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#444">time since the start (h:mm)</text>`+"\n", left+plotW/2, axisY+40)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceTicks returns 0 and round steps (1, 2 or 5 × a power of ten) up to
// the first at or above v: 4 to 6 ticks.
func niceTicks(v float64) []float64 {
	if v <= 0 {
		v = 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v/5)))
	var step float64
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * p
		if v/step <= 5 {
			break
		}
	}
	if step < 1 && v >= 1 {
		step = 1
	}
	var ts []float64
	for t := 0.0; ; t += step {
		ts = append(ts, t)
		if t >= v-1e-9 {
			return ts
		}
	}
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// timeStep is a round step for a time axis of length end: at most 8
// ticks.
func timeStep(end time.Duration) time.Duration {
	for _, s := range []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour} {
		if end/s <= 8 {
			return s
		}
	}
	return 12 * time.Hour
}

// fmtClock writes h:mm, or h:mm:ss when there are seconds.
func fmtClock(d time.Duration) string {
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if s != 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", h, m)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
