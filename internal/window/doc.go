// Package window decides when a KeyPairDetachment's reboots may start: the arithmetic of
// spec.reboot.window, kept pure so that every rule below has a table test.
//
// A window lists days and a start and an end time, HH:MM in local wall-clock time of its
// zone. Each listed day D has one opening:
//
//   - It belongs to the day it STARTS on. With days [Saturday] and 22:00–02:00, the opening
//     runs from Saturday 22:00 to Sunday 02:00: Saturday 23:00 and Sunday 01:00 are open,
//     Saturday 01:00 and Sunday 23:00 are not. An end time earlier than the start time means
//     the opening ends on the next day.
//   - It opens at the first instant whose local wall clock reads D at the start time or later,
//     and it closes at the first instant from then on whose wall clock reads the end date at the
//     end time or later. Inclusive at the start, exclusive at the end.
//   - So, across a DST change: a start or end time that does not exist that day (skipped by a
//     spring-forward, such as 02:30 in America/New_York on 2026-03-08) takes effect at the
//     first instant after the gap (03:00 EDT); one that occurs twice (a fall-back) takes effect
//     at its first occurrence, and the end is the first occurrence of the end time after the
//     opening. An opening may thus be an hour shorter or longer than its nominal length.
//   - An opening that a gap swallows whole (02:10–02:40 on a spring-forward day) would last no
//     time at all, so it starts after the gap and keeps its nominal length instead. Every
//     listed day therefore has a real opening, and the next one is never more than a week and
//     a day away.
//
// The arithmetic walks the zone's offset periods (time.Time.ZoneBounds) rather than calling
// time.Date on wall-clock times, because time.Date leaves unspecified which side of a
// transition it picks.
//
// The package imports time/tzdata so that zones load in the distroless manager image, which
// has no /usr/share/zoneinfo.
package window
