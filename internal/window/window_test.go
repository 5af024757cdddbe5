package window

import (
	"strings"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

const (
	mon = ecsv1alpha1.Monday
	tue = ecsv1alpha1.Tuesday
	wed = ecsv1alpha1.Wednesday
	thu = ecsv1alpha1.Thursday
	fri = ecsv1alpha1.Friday
	sat = ecsv1alpha1.Saturday
	sun = ecsv1alpha1.Sunday
)

var everyDay = []ecsv1alpha1.Weekday{mon, tue, wed, thu, fri, sat, sun}

func spec(zone, start, end string, days ...ecsv1alpha1.Weekday) *ecsv1alpha1.RebootWindow {
	return &ecsv1alpha1.RebootWindow{Days: days, StartTime: start, EndTime: end, TimeZone: zone}
}

func mustParse(t *testing.T, s *ecsv1alpha1.RebootWindow) *Window {
	t.Helper()
	w, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", s, err)
	}
	return w
}

// ts reads RFC 3339 with an explicit offset, so that no test time is itself ambiguous.
func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		spec    *ecsv1alpha1.RebootWindow
		want    string // String() of the result; "" with wantErr
		wantErr string
	}{
		{"nil: no window", nil, "always", ""},
		{"weekend in Shanghai", spec("Asia/Shanghai", "02:00", "05:00", sun, sat), "Sat,Sun 02:00–05:00 Asia/Shanghai", ""},
		{"no zone: UTC", spec("", "22:00", "02:00", sat), "Sat 22:00–02:00 UTC", ""},
		{"every day, listed twice over", spec("UTC", "00:00", "23:59", append(everyDay, sun, mon)...),
			"Mon,Tue,Wed,Thu,Fri,Sat,Sun 00:00–23:59 UTC", ""},
		{"Etc/GMT-8", spec("Etc/GMT-8", "02:00", "05:00", mon), "Mon 02:00–05:00 Etc/GMT-8", ""},
		{"no days", spec("UTC", "02:00", "05:00"), "", "at least one day"},
		{"day Sat", spec("UTC", "02:00", "05:00", "Sat"), "", `unknown day "Sat"`},
		{"day saturday", spec("UTC", "02:00", "05:00", "saturday"), "", `unknown day "saturday"`},
		{"25:00", spec("UTC", "25:00", "05:00", sun), "", `startTime "25:00"`},
		{"2:00", spec("UTC", "2:00", "05:00", sun), "", `startTime "2:00"`},
		{"24:00", spec("UTC", "22:00", "24:00", sun), "", `endTime "24:00"`},
		{"seconds", spec("UTC", "22:00", "23:00:00", sun), "", `endTime "23:00:00"`},
		{"start == end", spec("UTC", "02:00", "02:00", sun), "", "must differ"},
		{"Mars/Olympus", spec("Mars/Olympus", "02:00", "05:00", sun), "", `timeZone "Mars/Olympus"`},
		{"Local", spec("Local", "02:00", "05:00", sun), "", `timeZone "Local"`},
		{"an offset", spec("+08:00", "02:00", "05:00", sun), "", `timeZone "+08:00"`},
		{"a path", spec("../zoneinfo/UTC", "02:00", "05:00", sun), "", `timeZone "../zoneinfo/UTC"`},
		{"65 characters", spec("Asia/"+strings.Repeat("x", 60), "02:00", "05:00", sun), "", "not an IANA zone name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Parse(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := w.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNilWindowIsAlwaysOpen(t *testing.T) {
	var w *Window
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if !w.Open(now) || !w.NextOpening(now).Equal(now) || !w.ClosesAt(now).IsZero() {
		t.Errorf("nil window: Open %v, NextOpening %v, ClosesAt %v; want true, now, zero",
			w.Open(now), w.NextOpening(now), w.ClosesAt(now))
	}
}

// TestTimes: Open, NextOpening and ClosesAt at chosen instants. Calendar: 2026-12-05 is a
// Saturday; America/New_York springs forward on Sunday 2026-03-08 (02:00 EST → 03:00 EDT) and
// falls back on Sunday 2026-11-01 (02:00 EDT → 01:00 EST); Europe/London springs forward on
// Sunday 2026-03-29 (01:00 GMT → 02:00 BST).
func TestTimes(t *testing.T) {
	saturdayNight := spec("UTC", "22:00", "02:00", sat)
	shanghaiWeekend := spec("Asia/Shanghai", "02:00", "05:00", sat, sun)
	officeHours := spec("", "09:00", "17:00", everyDay...)
	nights := spec("UTC", "20:00", "08:00", everyDay...)
	nyGapStart := spec("America/New_York", "02:30", "04:00", sun)
	nyGapEnd := spec("America/New_York", "01:00", "02:30", sun)
	nyInGap := spec("America/New_York", "02:10", "02:40", sun)
	nyIntoGap := spec("America/New_York", "23:00", "03:00", sat)
	nyRepeatStart := spec("America/New_York", "01:30", "03:00", sun)
	nyRepeatBoth := spec("America/New_York", "01:00", "01:30", sun)
	nyIntoRepeat := spec("America/New_York", "22:00", "01:30", sat)
	london := spec("Europe/London", "01:00", "03:00", sun)
	londonSummer := spec("Europe/London", "09:00", "17:00", wed)

	cases := []struct {
		name   string
		spec   *ecsv1alpha1.RebootWindow
		at     string
		open   bool
		next   string // NextOpening; the same as at when open
		closes string // ClosesAt; only when open
	}{
		// An opening belongs to the day it starts on.
		{"Sat 23:00 in Sat 22:00–02:00", saturdayNight, "2026-12-05T23:00:00Z", true, "", "2026-12-06T02:00:00Z"},
		{"Sun 01:00 in Sat 22:00–02:00", saturdayNight, "2026-12-06T01:00:00Z", true, "", "2026-12-06T02:00:00Z"},
		{"Sat 01:00: Friday's night is not listed", saturdayNight, "2026-12-05T01:00:00Z", false, "2026-12-05T22:00:00Z", ""},
		{"Sun 23:00: Sunday's night is not listed", saturdayNight, "2026-12-06T23:00:00Z", false, "2026-12-12T22:00:00Z", ""},
		{"exactly at the start: open", saturdayNight, "2026-12-05T22:00:00Z", true, "", "2026-12-06T02:00:00Z"},
		{"a nanosecond before the start", saturdayNight, "2026-12-05T21:59:59.999999999Z", false, "2026-12-05T22:00:00Z", ""},
		{"exactly at the end: closed", saturdayNight, "2026-12-06T02:00:00Z", false, "2026-12-12T22:00:00Z", ""},
		{"a nanosecond before the end", saturdayNight, "2026-12-06T01:59:59.999999999Z", true, "", "2026-12-06T02:00:00Z"},

		// Days are local days: Saturday 04:00 in Shanghai is still Friday in UTC.
		{"Shanghai Sat 04:00 (Fri 20:00 UTC)", shanghaiWeekend, "2026-12-04T20:00:00Z", true, "", "2026-12-05T05:00:00+08:00"},
		{"Shanghai Sat 02:00", shanghaiWeekend, "2026-12-05T02:00:00+08:00", true, "", "2026-12-05T05:00:00+08:00"},
		{"Shanghai Sat 05:00", shanghaiWeekend, "2026-12-05T05:00:00+08:00", false, "2026-12-06T02:00:00+08:00", ""},
		{"Shanghai Fri 02:00 (Thu UTC)", shanghaiWeekend, "2026-12-04T02:00:00+08:00", false, "2026-12-05T02:00:00+08:00", ""},
		{"Shanghai Sun 05:30", shanghaiWeekend, "2026-12-06T05:30:00+08:00", false, "2026-12-12T02:00:00+08:00", ""},
		{"Shanghai Sun 02:00 (Sat 18:00 UTC)", shanghaiWeekend, "2026-12-05T18:00:00Z", true, "", "2026-12-06T05:00:00+08:00"},

		// Every day, and the UTC default.
		{"office hours Wed 12:00", officeHours, "2026-12-09T12:00:00Z", true, "", "2026-12-09T17:00:00Z"},
		{"office hours Wed 17:00", officeHours, "2026-12-09T17:00:00Z", false, "2026-12-10T09:00:00Z", ""},
		{"office hours Sun 20:00 → Mon", officeHours, "2026-12-06T20:00:00Z", false, "2026-12-07T09:00:00Z", ""},
		{"nights, every day: Mon 03:00", nights, "2026-12-07T03:00:00Z", true, "", "2026-12-07T08:00:00Z"},
		{"nights, every day: Mon 08:00", nights, "2026-12-07T08:00:00Z", false, "2026-12-07T20:00:00Z", ""},
		{"nights across the new year", nights, "2026-12-31T23:00:00Z", true, "", "2027-01-01T08:00:00Z"},

		// New York springs forward: 02:00–03:00 EST does not exist on 2026-03-08.
		{"start in the gap: before it", nyGapStart, "2026-03-08T01:59:00-05:00", false, "2026-03-08T03:00:00-04:00", ""},
		{"start in the gap: opens at 03:00 EDT", nyGapStart, "2026-03-08T03:00:00-04:00", true, "", "2026-03-08T04:00:00-04:00"},
		{"start in the gap: the next Sunday is 02:30 EDT", nyGapStart, "2026-03-08T04:00:00-04:00", false, "2026-03-15T02:30:00-04:00", ""},
		{"start in the gap: from the week before", nyGapStart, "2026-03-01T04:00:00-05:00", false, "2026-03-08T03:00:00-04:00", ""},
		{"end in the gap: open at 01:30 EST", nyGapEnd, "2026-03-08T01:30:00-05:00", true, "", "2026-03-08T03:00:00-04:00"},
		{"end in the gap: closed at 03:00 EDT", nyGapEnd, "2026-03-08T03:00:00-04:00", false, "2026-03-15T01:00:00-04:00", ""},
		{"wholly in the gap: opens after it", nyInGap, "2026-03-08T01:00:00-05:00", false, "2026-03-08T03:00:00-04:00", ""},
		{"wholly in the gap: keeps its 30 minutes", nyInGap, "2026-03-08T03:29:00-04:00", true, "", "2026-03-08T03:30:00-04:00"},
		{"wholly in the gap: closed after them", nyInGap, "2026-03-08T03:30:00-04:00", false, "2026-03-15T02:10:00-04:00", ""},
		{"across midnight into the gap: 3h long", nyIntoGap, "2026-03-07T23:00:00-05:00", true, "", "2026-03-08T03:00:00-04:00"},
		{"across midnight into the gap: 01:59 EST", nyIntoGap, "2026-03-08T01:59:00-05:00", true, "", "2026-03-08T03:00:00-04:00"},
		{"across midnight into the gap: 03:00 EDT", nyIntoGap, "2026-03-08T03:00:00-04:00", false, "2026-03-14T23:00:00-04:00", ""},

		// New York falls back: 01:00–02:00 happens twice on 2026-11-01, first EDT then EST.
		{"start repeated: before its first time", nyRepeatStart, "2026-11-01T01:29:00-04:00", false, "2026-11-01T01:30:00-04:00", ""},
		{"start repeated: opens at the first", nyRepeatStart, "2026-11-01T01:30:00-04:00", true, "", "2026-11-01T03:00:00-05:00"},
		{"start repeated: open through the second 01:xx", nyRepeatStart, "2026-11-01T01:15:00-05:00", true, "", "2026-11-01T03:00:00-05:00"},
		{"start repeated: 2h30 long", nyRepeatStart, "2026-11-01T02:59:00-05:00", true, "", "2026-11-01T03:00:00-05:00"},
		{"both repeated: open at 01:10 EDT", nyRepeatBoth, "2026-11-01T01:10:00-04:00", true, "", "2026-11-01T01:30:00-04:00"},
		{"both repeated: closed at the first 01:30", nyRepeatBoth, "2026-11-01T01:30:00-04:00", false, "2026-11-08T01:00:00-05:00", ""},
		{"both repeated: the second 01:10 is closed", nyRepeatBoth, "2026-11-01T01:10:00-05:00", false, "2026-11-08T01:00:00-05:00", ""},
		{"across midnight into the repeat: 01:20 EDT", nyIntoRepeat, "2026-11-01T01:20:00-04:00", true, "", "2026-11-01T01:30:00-04:00"},
		{"across midnight into the repeat: 01:20 EST", nyIntoRepeat, "2026-11-01T01:20:00-05:00", false, "2026-11-07T22:00:00-05:00", ""},
		{"across midnight into the repeat: Sat 22:00 EDT", nyIntoRepeat, "2026-10-31T22:00:00-04:00", true, "", "2026-11-01T01:30:00-04:00"},

		// London springs forward at 01:00 GMT, so a 01:00 start does not exist that day.
		{"London 01:00 start in the gap", london, "2026-03-29T00:59:00Z", false, "2026-03-29T01:00:00Z", ""},
		{"London opens at 02:00 BST", london, "2026-03-29T02:00:00+01:00", true, "", "2026-03-29T03:00:00+01:00"},
		{"London the week after, BST", london, "2026-03-29T03:00:00+01:00", false, "2026-04-05T01:00:00+01:00", ""},
		{"London summer Wed 09:00 BST", londonSummer, "2026-07-01T08:00:00Z", true, "", "2026-07-01T17:00:00+01:00"},
		{"London summer Wed 08:59 BST", londonSummer, "2026-07-01T07:59:00Z", false, "2026-07-01T09:00:00+01:00", ""},
		{"London winter Wed 09:00 GMT", londonSummer, "2026-12-09T09:00:00Z", true, "", "2026-12-09T17:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := mustParse(t, tc.spec)
			at := ts(t, tc.at)
			if got := w.Open(at); got != tc.open {
				t.Errorf("%s: Open(%s) = %v, want %v", w, tc.at, got, tc.open)
			}
			wantNext := at
			if !tc.open {
				wantNext = ts(t, tc.next)
			}
			if got := w.NextOpening(at); !got.Equal(wantNext) {
				t.Errorf("%s: NextOpening(%s) = %s, want %s", w, tc.at, got.In(w.loc), wantNext.In(w.loc))
			}
			wantCloses := at
			if tc.open {
				wantCloses = ts(t, tc.closes)
			}
			if got := w.ClosesAt(at); !got.Equal(wantCloses) {
				t.Errorf("%s: ClosesAt(%s) = %s, want %s", w, tc.at, got.In(w.loc), wantCloses.In(w.loc))
			}
		})
	}
}
