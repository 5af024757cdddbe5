package window

import (
	"math/rand/v2"
	"testing"
	"time"

	ecsv1alpha1 "github.com/keypairs-dev/ecs-keypair-operator/api/v1alpha1"
)

// Zones with something to trip over: none, a fixed +08, New York's and London's DST, Lord Howe's
// half-hour DST, Kathmandu's +05:45, and Apia, which skipped 2011-12-30 altogether.
var propertyZones = []string{"UTC", "Asia/Shanghai", "America/New_York", "Europe/London",
	"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia"}

// TestNextOpeningProperties holds NextOpening and ClosesAt to their definitions over random
// windows and times, half of them within two days of a DST transition: NextOpening(t) is open,
// no more than 8 days ahead, and no minute between t and it is open; ClosesAt(t) is closed and
// every minute before it from t is open. The seed is fixed so that a failure replays.
func TestNextOpeningProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 2026))
	const cases = 1000
	for i := range cases {
		zone := propertyZones[i%len(propertyZones)]
		s := randomSpec(rng, zone)
		w := mustParse(t, s)
		at := randomTime(rng, w.loc, zone == "Pacific/Apia")

		next := w.NextOpening(at)
		if next.Before(at) || next.Sub(at) > 8*24*time.Hour {
			t.Fatalf("%s: NextOpening(%s) = %s: not within 8 days after", w, at.In(w.loc), next.In(w.loc))
		}
		if !w.Open(next) {
			t.Fatalf("%s: NextOpening(%s) = %s, which is closed", w, at.In(w.loc), next.In(w.loc))
		}
		for m := at.Add(time.Minute); m.Before(next); m = m.Add(time.Minute) {
			if w.Open(m) {
				t.Fatalf("%s: NextOpening(%s) = %s, but %s is open", w, at.In(w.loc), next.In(w.loc), m.In(w.loc))
			}
		}

		closes := w.ClosesAt(next)
		if !closes.After(next) || w.Open(closes) {
			t.Fatalf("%s: ClosesAt(%s) = %s: not after, or still open", w, next.In(w.loc), closes.In(w.loc))
		}
		for m := next; m.Before(closes); m = m.Add(time.Minute) {
			if !w.Open(m) {
				t.Fatalf("%s: ClosesAt(%s) = %s, but %s is closed", w, next.In(w.loc), closes.In(w.loc), m.In(w.loc))
			}
		}
	}
}

func randomSpec(rng *rand.Rand, zone string) *ecsv1alpha1.RebootWindow {
	var days []ecsv1alpha1.Weekday
	for len(days) == 0 {
		for _, d := range everyDay {
			if rng.IntN(3) == 0 {
				days = append(days, d)
			}
		}
	}
	start := clock(rng.IntN(24 * 60))
	// Around the usual transition hours half the time, where DST bites.
	if rng.IntN(2) == 0 {
		start = clock(rng.IntN(4 * 60))
	}
	end := clock(rng.IntN(24 * 60))
	for end == start {
		end = clock(rng.IntN(24 * 60))
	}
	return &ecsv1alpha1.RebootWindow{Days: days, StartTime: start.String(), EndTime: end.String(), TimeZone: zone}
}

// randomTime is a time in 2026 (2011 for Apia, to meet its skipped day), to the second, within
// two days of one of the zone's transitions half the time.
func randomTime(rng *rand.Rand, loc *time.Location, apia bool) time.Time {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if apia {
		from = time.Date(2011, 12, 1, 0, 0, 0, 0, time.UTC)
	}
	year := 365 * 24 * time.Hour
	if apia {
		year = 60 * 24 * time.Hour
	}
	at := from.Add(time.Duration(rng.Int64N(int64(year/time.Second))) * time.Second)
	if rng.IntN(2) == 0 {
		if _, end := at.In(loc).ZoneBounds(); !end.IsZero() {
			at = end.Add(time.Duration(rng.Int64N(int64(4*24*time.Hour/time.Second)))*time.Second - 2*24*time.Hour)
		}
	}
	return at
}
