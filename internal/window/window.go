package window

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // the manager image has no zoneinfo of its own

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// Window is a parsed spec.reboot.window. The nil *Window is a window that is always open, so
// callers need not tell "no window" apart.
type Window struct {
	days  [7]bool // by time.Weekday
	start clock
	end   clock
	loc   *time.Location
}

// clock is a wall-clock time of day in minutes since midnight.
type clock int

func (c clock) String() string { return fmt.Sprintf("%02d:%02d", c/60, c%60) }

// hhmm is the CRD's pattern for startTime and endTime, so that Parse refuses exactly what the
// API server refuses.
var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// zoneName is the CRD's pattern for timeZone.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

const maxZoneName = 64

var weekdays = map[ecsv1alpha1.Weekday]time.Weekday{
	ecsv1alpha1.Monday:    time.Monday,
	ecsv1alpha1.Tuesday:   time.Tuesday,
	ecsv1alpha1.Wednesday: time.Wednesday,
	ecsv1alpha1.Thursday:  time.Thursday,
	ecsv1alpha1.Friday:    time.Friday,
	ecsv1alpha1.Saturday:  time.Saturday,
	ecsv1alpha1.Sunday:    time.Sunday,
}

// Parse checks spec by the same rules as the CRD and resolves its zone. A nil spec is no
// window: nil, nil.
func Parse(spec *ecsv1alpha1.RebootWindow) (*Window, error) {
	if spec == nil {
		return nil, nil
	}
	w := &Window{}
	if len(spec.Days) == 0 {
		return nil, errors.New("window: days must list at least one day")
	}
	for _, d := range spec.Days {
		wd, ok := weekdays[d]
		if !ok {
			return nil, fmt.Errorf("window: unknown day %q: want a full English name such as Saturday", d)
		}
		w.days[wd] = true
	}
	var err error
	if w.start, err = parseClock("startTime", spec.StartTime); err != nil {
		return nil, err
	}
	if w.end, err = parseClock("endTime", spec.EndTime); err != nil {
		return nil, err
	}
	if w.start == w.end {
		return nil, fmt.Errorf("window: endTime must differ from startTime %s", spec.StartTime)
	}
	if w.loc, err = loadZone(spec.TimeZone); err != nil {
		return nil, err
	}
	return w, nil
}

func parseClock(field, s string) (clock, error) {
	if !hhmm.MatchString(s) {
		return 0, fmt.Errorf("window: %s %q is not HH:MM on a 24-hour clock", field, s)
	}
	return clock((int(s[0]-'0')*10+int(s[1]-'0'))*60 + int(s[3]-'0')*10 + int(s[4]-'0')), nil
}

// loadZone reads "" as UTC, the CRD's default, for objects that reach the manager without the
// API server's defaulting (unit tests, Go literals).
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if len(name) > maxZoneName || !zoneName.MatchString(name) || name == "Local" {
		return nil, fmt.Errorf("window: timeZone %q is not an IANA zone name such as Asia/Shanghai", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("window: timeZone %q: %w", name, err)
	}
	return loc, nil
}

// Open says whether a new reboot may start at t.
func (w *Window) Open(t time.Time) bool {
	if w == nil {
		return true
	}
	_, ok := w.containing(t)
	return ok
}

// NextOpening is t when the window is open at t, otherwise the start of the next opening.
func (w *Window) NextOpening(t time.Time) time.Time {
	if w == nil || w.Open(t) {
		return t
	}
	var next time.Time
	// The opening of local day D starts at D's start time or, after a gap, a little later: so
	// yesterday's could still be ahead of t, and a week and a day covers every listed day.
	day := localDate(t, w.loc)
	for i := -1; i <= 8; i++ {
		d := day.AddDate(0, 0, i)
		if !w.days[d.Weekday()] {
			continue
		}
		o := w.opening(d)
		if o.start.After(t) && (next.IsZero() || o.start.Before(next)) {
			next = o.start
		}
	}
	return next
}

// ClosesAt is when the window, open at t, next closes: no new reboot starts from then on.
// When the window is closed at t it is t; for the nil window, which never closes, the zero
// time.
func (w *Window) ClosesAt(t time.Time) time.Time {
	if w == nil {
		return time.Time{}
	}
	end := t
	// Openings of consecutive days do not overlap save in contrived zones; following them keeps
	// the answer right even then.
	for range 16 {
		o, ok := w.containing(end)
		if !ok {
			break
		}
		end = o.end
	}
	return end
}

// String reads like the spec: "Sat,Sun 02:00–05:00 Asia/Shanghai".
func (w *Window) String() string {
	if w == nil {
		return "always"
	}
	var days []string
	for i := range 7 {
		d := time.Weekday((i + 1) % 7) // Monday first
		if w.days[d] {
			days = append(days, d.String()[:3])
		}
	}
	return fmt.Sprintf("%s %s–%s %s", strings.Join(days, ","), w.start, w.end, w.loc)
}

// span is one opening: [start, end).
type span struct{ start, end time.Time }

// containing finds an opening holding t, the latest-ending one if several do.
func (w *Window) containing(t time.Time) (span, bool) {
	var found span
	ok := false
	day := localDate(t, w.loc)
	// An opening ends at most a day after its start date, plus what a DST change moves it by,
	// so openings of days before yesterday are over; tomorrow's is checked for zones that skip
	// a whole day (Pacific/Apia, 2011-12-30).
	for i := -2; i <= 1; i++ {
		d := day.AddDate(0, 0, i)
		if !w.days[d.Weekday()] {
			continue
		}
		o := w.opening(d)
		if !t.Before(o.start) && t.Before(o.end) && (!ok || o.end.After(found.end)) {
			found, ok = o, true
		}
	}
	return found, ok
}

// opening is the opening of local date d (a midnight in UTC standing for the wall-clock date).
func (w *Window) opening(d time.Time) span {
	startWall := d.Add(time.Duration(w.start) * time.Minute)
	length := time.Duration(w.end-w.start) * time.Minute
	if w.end < w.start {
		length += 24 * time.Hour
	}
	endWall := startWall.Add(length)
	start := firstReaching(startWall, w.loc, startWall.Add(-searchMargin))
	end := firstReaching(endWall, w.loc, start)
	if !end.After(start) {
		end = start.Add(length) // a gap swallowed the whole opening: keep its length
	}
	return span{start, end}
}

// searchMargin bounds how far an instant lies from the wall-clock time it reads: UTC offsets
// stay within ±15h even historically, and a skipped day (Pacific/Apia) adds 24h.
const searchMargin = 48 * time.Hour

// firstReaching is the first instant at or after from whose wall clock in loc reads wall (a
// UTC time standing for the wall-clock reading) or later. Within one offset period the wall
// clock is the instant plus a fixed offset, so each period answers with one subtraction; the
// periods are walked in order, which settles gaps (the period after the gap answers with its
// first instant) and repeats (the earlier period answers first) without time.Date.
func firstReaching(wall time.Time, loc *time.Location, from time.Time) time.Time {
	at := from
	for range 64 {
		local := at.In(loc)
		_, offset := local.Zone()
		_, periodEnd := local.ZoneBounds()
		candidate := wall.Add(-time.Duration(offset) * time.Second)
		if !candidate.After(at) {
			return at // the wall clock is already there
		}
		if periodEnd.IsZero() || candidate.Before(periodEnd) {
			return candidate
		}
		at = periodEnd
	}
	// Unreachable for real zones: 64 transitions within two days.
	return wall
}

// localDate is t's wall-clock date in loc, as midnight UTC of the same date, so that date
// arithmetic never meets a transition.
func localDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
