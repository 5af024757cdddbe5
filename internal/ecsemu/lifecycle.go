package ecsemu

import "time"

// farFuture stands in for the end of a reboot that never ends (a hung instance).
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// end is when the reboot reaches Running; a hung instance never does.
func (in *instance) rebootEnd() time.Time {
	if in.hang {
		return farFuture
	}
	return in.reboot.start.Add(in.reboot.stopping + in.reboot.starting)
}

// settle folds a finished reboot into the record: the instance is Running again, started at the
// end of the reboot, and a pending key change has taken effect.
func (in *instance) settle(now time.Time) {
	if in.reboot == nil || in.hang {
		return
	}
	end := in.rebootEnd()
	if now.Before(end) {
		return
	}
	in.status = StatusRunning
	in.startTime = end
	in.pending = false
	in.reboot = nil
}

// statusAt is the status ECS would report at now; call settle first.
func (in *instance) statusAt(now time.Time) string {
	if in.reboot == nil {
		return in.status
	}
	if now.Before(in.reboot.start.Add(in.reboot.stopping)) {
		return StatusStopping
	}
	return StatusStarting
}

// beginReboot starts a reboot at now and records it for the concurrency high-water mark.
// It returns the number of reboots in flight afterwards.
func (w *world) beginReboot(in *instance, now time.Time, lc lifecycle) int {
	in.reboot = &reboot{start: now, stopping: lc.stopping, starting: lc.starting}
	for id, end := range w.rebooting {
		other := w.instances[id]
		if other.reboot == nil || (!other.hang && !now.Before(end)) {
			delete(w.rebooting, id)
		}
	}
	w.rebooting[in.id] = in.rebootEnd()
	return len(w.rebooting)
}

// setStatus forces a settled status, ending any reboot. Moving a stopped or rebooting instance to
// Running counts as a start: the StartTime is now and a pending key change takes effect.
func (in *instance) setStatus(status string, now time.Time) {
	wasRunning := in.reboot == nil && in.status == StatusRunning
	in.reboot = nil
	in.status = status
	if status == StatusRunning && !wasRunning {
		in.startTime = now
		in.pending = false
	}
}

type lifecycle struct {
	stopping time.Duration
	starting time.Duration
}
