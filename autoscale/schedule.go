package autoscale

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qscale/qscale/autoscale/policy"
)

// ScheduledAction changes a fleet's bounds for a window that recurs: from
// each minute Start matches, for Duration, or until End next matches (as
// AWS PutScheduledAction's start and end, or KEDA's cron trigger). Min
// and Max, where set, replace the fleet's bounds while the window is open.
type ScheduledAction struct {
	Name     string
	Start    Cron
	End      *Cron
	Duration time.Duration
	Min, Max *int
}

// Validate reports what makes a unusable.
func (a ScheduledAction) Validate() error {
	var errs []error
	switch {
	case a.Name == "":
		errs = append(errs, errors.New("a scheduled action needs a name"))
	case a.End == nil && a.Duration <= 0:
		errs = append(errs, fmt.Errorf("schedule %q: give a positive duration or an end cron", a.Name))
	case a.End != nil && a.Duration > 0:
		errs = append(errs, fmt.Errorf("schedule %q: give a duration or an end cron, not both", a.Name))
	}
	if a.Min == nil && a.Max == nil {
		errs = append(errs, fmt.Errorf("schedule %q: give min, max or both", a.Name))
	}
	if a.Min != nil && *a.Min < 0 {
		errs = append(errs, fmt.Errorf("schedule %q: min must be 0 or more, got %d", a.Name, *a.Min))
	}
	if a.Max != nil && *a.Max < 1 {
		errs = append(errs, fmt.Errorf("schedule %q: max must be 1 or more, got %d", a.Name, *a.Max))
	}
	if a.Min != nil && a.Max != nil && *a.Max < *a.Min {
		errs = append(errs, fmt.Errorf("schedule %q: max %d is below min %d", a.Name, *a.Max, *a.Min))
	}
	return errors.Join(errs...)
}

// Window reports whether a is open at t, and when it opened and closes
// (closes is zero when an end cron never matches again).
func (a ScheduledAction) Window(t time.Time) (open bool, opened, closes time.Time) {
	if a.End == nil {
		s, ok := a.Start.Prev(t)
		if !ok || !t.Before(s.Add(a.Duration)) {
			return false, time.Time{}, time.Time{}
		}
		return true, s, s.Add(a.Duration)
	}
	s, ok := a.Start.Prev(t)
	if !ok {
		return false, time.Time{}, time.Time{}
	}
	if e, ok := a.End.Prev(t); ok && !e.Before(s) {
		return false, time.Time{}, time.Time{}
	}
	e, _ := a.End.Next(t)
	return true, s, e
}

// Schedule is a fleet's scheduled actions. While several windows are open
// the highest min and the highest max among them win.
type Schedule []ScheduledAction

// Validate reports every unusable action and repeated name.
func (s Schedule) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, a := range s {
		errs = append(errs, a.Validate())
		if seen[a.Name] && a.Name != "" {
			errs = append(errs, fmt.Errorf("schedule %q: the name is used twice", a.Name))
		}
		seen[a.Name] = true
	}
	return errors.Join(errs...)
}

// Bounds returns the bounds in force at t, base outside every window, and
// a sentence for each change an open window makes ("schedule 'morning'
// raises min to 5 until 09:30"), empty when none does.
func (s Schedule) Bounds(t time.Time, base policy.Bounds) (policy.Bounds, string) {
	b := base
	var minBy, maxBy *ScheduledAction
	var minUntil, maxUntil time.Time
	for i := range s {
		a := &s[i]
		open, _, closes := a.Window(t)
		if !open {
			continue
		}
		if a.Min != nil && (minBy == nil || *a.Min > b.Min) {
			b.Min, minBy, minUntil = *a.Min, a, closes
		}
		if a.Max != nil && (maxBy == nil || *a.Max > b.Max) {
			b.Max, maxBy, maxUntil = *a.Max, a, closes
		}
	}
	var why []string
	change := func(a *ScheduledAction, what string, from, to int, until time.Time) {
		if a == nil || from == to {
			return
		}
		verb := "raises"
		if to < from {
			verb = "lowers"
		}
		end := "while its end cron does not match"
		if !until.IsZero() {
			end = "until " + clockIn(until, a.Start.Location(), t)
		}
		why = append(why, fmt.Sprintf("schedule '%s' %s %s to %d %s", a.Name, verb, what, to, end))
	}
	change(minBy, "min", base.Min, b.Min, minUntil)
	change(maxBy, "max", base.Max, b.Max, maxUntil)
	if b.Max < b.Min {
		why = append(why, fmt.Sprintf("max %d is raised to the scheduled min %d", b.Max, b.Min))
		b.Max = b.Min
	}
	return b, strings.Join(why, "; ")
}

// clockIn writes t in loc: the time of day when it is within a day of now,
// with the date otherwise, and the zone unless it is UTC.
func clockIn(t time.Time, loc *time.Location, now time.Time) string {
	t = t.In(loc)
	layout := "15:04"
	if t.Sub(now) >= 24*time.Hour {
		layout = "Mon 2 Jan 15:04"
	}
	if loc != time.UTC {
		layout += " MST"
	}
	return t.Format(layout)
}
