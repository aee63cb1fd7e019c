package autoscale

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a five-field cron expression (minute, hour, day of month, month,
// day of week) read in a time zone, as AWS scheduled actions and KEDA's
// cron trigger take them. Each field is *, a number, a range a-b, a list
// a,b,c, and any of those with a step /n; months and days of the week may
// be named (jan, mon), and Sunday is 0 or 7. When both the day of the month
// and the day of the week are restricted, a day matching either matches, as
// in Vixie cron. A leading "CRON_TZ=Zone " or "TZ=Zone " sets the zone.
type Cron struct {
	expr                       string
	loc                        *time.Location
	minute, hour, dom, mon, dw uint64 // bit i set: value i matches
	domAny, dowAny             bool
}

var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// ParseCron reads expr in the zone loc (UTC when nil), unless expr names
// its own with a CRON_TZ= or TZ= prefix.
func ParseCron(expr string, loc *time.Location) (Cron, error) {
	if loc == nil {
		loc = time.UTC
	}
	c := Cron{expr: strings.TrimSpace(expr), loc: loc}
	rest := c.expr
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if zone, ok := strings.CutPrefix(rest, p); ok {
			name, tail, _ := strings.Cut(zone, " ")
			l, err := time.LoadLocation(name)
			if err != nil {
				return c, fmt.Errorf("cron %q: time zone %q: %w", expr, name, err)
			}
			c.loc, rest = l, tail
			break
		}
	}
	fields := strings.Fields(rest)
	if len(fields) != 5 {
		return c, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), got %d", expr, len(fields))
	}
	sets := make([]uint64, 5)
	for i, f := range fields {
		spec := cronFields[i]
		set, err := parseCronField(f, spec.min, spec.max, spec.names)
		if err != nil {
			return c, fmt.Errorf("cron %q: %s: %w", expr, spec.name, err)
		}
		sets[i] = set
	}
	c.minute, c.hour, c.dom, c.mon, c.dw = sets[0], sets[1], sets[2], sets[3], sets[4]
	if c.dw&(1<<7) != 0 {
		c.dw |= 1 // 7 is Sunday too
	}
	c.domAny, c.dowAny = fields[2] == "*", fields[4] == "*"
	return c, nil
}

func parseCronField(f string, lo, hi int, names []string) (uint64, error) {
	var set uint64
	for part := range strings.SplitSeq(f, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", stepText)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = cronValue(x, lo, hi, names); err != nil {
				return 0, err
			}
			if b, err = cronValue(y, lo, hi, names); err != nil {
				return 0, err
			}
			if b < a {
				return 0, fmt.Errorf("range %q ends before it starts", rng)
			}
		default:
			v, err := cronValue(rng, lo, hi, names)
			if err != nil {
				return 0, err
			}
			a = v
			if !hasStep {
				b = v
			}
		}
		for v := a; v <= b; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func cronValue(s string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i + lo, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%q is not a value in %d-%d", s, lo, hi)
	}
	return v, nil
}

func (c Cron) String() string { return c.expr }

// Location is the zone the expression is read in.
func (c Cron) Location() *time.Location { return c.loc }

func (c Cron) dayMatches(t time.Time) bool {
	if c.mon&(1<<int(t.Month())) == 0 {
		return false
	}
	dom := c.dom&(1<<t.Day()) != 0
	dow := c.dw&(1<<int(t.Weekday())) != 0
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

// Matches reports whether the minute of t matches.
func (c Cron) Matches(t time.Time) bool {
	t = t.In(c.loc)
	return c.dayMatches(t) && c.hour&(1<<t.Hour()) != 0 && c.minute&(1<<t.Minute()) != 0
}

// hourStart is the start of t's hour in the expression's zone (zones may be
// offset by half an hour from UTC).
func (c Cron) hourStart(t time.Time) time.Time {
	return t.Add(-time.Duration(t.Minute()) * time.Minute)
}

// cronHorizon bounds the searches: a cron that matches nothing within a
// year and a day matches never.
const cronHorizon = 367 * 24 * time.Hour

// Prev returns the latest matching minute at or before t, and false when
// there is none within a year.
func (c Cron) Prev(t time.Time) (time.Time, bool) {
	t = t.In(c.loc).Truncate(time.Minute)
	stop := t.Add(-cronHorizon)
	for t.After(stop) {
		switch {
		case !c.dayMatches(t):
			y, m, d := t.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, c.loc).Add(-time.Minute)
		case c.hour&(1<<t.Hour()) == 0:
			t = c.hourStart(t).Add(-time.Minute)
		case c.minute&(1<<t.Minute()) == 0:
			t = t.Add(-time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// Next returns the earliest matching minute after t, and false when there
// is none within a year.
func (c Cron) Next(t time.Time) (time.Time, bool) {
	t = t.In(c.loc).Truncate(time.Minute).Add(time.Minute)
	stop := t.Add(cronHorizon)
	for t.Before(stop) {
		switch {
		case !c.dayMatches(t):
			y, m, d := t.Date()
			t = time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
		case c.hour&(1<<t.Hour()) == 0:
			t = c.hourStart(t).Add(time.Hour)
		case c.minute&(1<<t.Minute()) == 0:
			t = t.Add(time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}
