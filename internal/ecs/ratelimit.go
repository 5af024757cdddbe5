package ecs

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiterSet holds one client-side budget per (identity, region), because ECS throttles per
// account and region: every client of the same pair must draw from the same bucket, however
// many objects or goroutines use it.
type limiterSet struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[limiterKey]*adaptiveLimiter
}

type limiterKey struct{ identity, region string }

// newLimiterSet: qps <= 0 means no client-side limit; burst below 1 is raised to 1 so that a
// positive qps cannot block forever.
func newLimiterSet(qps float64, burst int) *limiterSet {
	s := &limiterSet{limit: rate.Inf, burst: burst, m: map[limiterKey]*adaptiveLimiter{}}
	if qps > 0 {
		s.limit = rate.Limit(qps)
		if s.burst < 1 {
			s.burst = 1
		}
	}
	return s
}

// get returns the budget of (identity, region), creating it on first use; release forgets it
// once no object uses it (Factory.Release).
func (s *limiterSet) get(identity, region string) *adaptiveLimiter {
	k := limiterKey{identity, region}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[k]
	if !ok {
		l = newAdaptiveLimiter(s.limit, s.burst, region)
		s.m[k] = l
	}
	return l
}

// release forgets the budget of (identity, region), and the region's rate gauge when no
// other identity has a budget there. A client already built keeps its budget until its pass
// ends; the next one starts from --ecs-qps.
func (s *limiterSet) release(identity, region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, limiterKey{identity, region})
	for k := range s.m {
		if k.region == region {
			return
		}
	}
	rateLimitQPS.DeleteLabelValues(region)
}

// size is the number of budgets held.
func (s *limiterSet) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// AIMD parameters. ECS's guidance after throttling is to probe the same API at about 1 QPS, so
// the rate never drops below that. As TCP does once per round trip, the rate is halved at most
// once per decreaseInterval: a burst of throttled answers to calls sent at the same rate is one
// signal, not many, and halving per answer would collapse the rate under throttling that is
// partly random. Each call that passes adds a tenth of the configured rate back.
const (
	minAdaptiveQPS      = 1
	decreaseFactor      = 0.5
	decreaseInterval    = time.Second
	increaseShareOfRate = 1.0 / 10
)

// adaptiveLimiter is one shared budget whose rate adapts to ECS (additive increase,
// multiplicative decrease, never above the configured rate): when one object is throttled,
// every object on the same account and region slows down, instead of each rediscovering the
// limit with failed calls. An unlimited budget stays unlimited: nobody asked for one.
type adaptiveLimiter struct {
	*rate.Limiter
	ceiling rate.Limit
	region  string
	now     func() time.Time

	mu           sync.Mutex
	lastDecrease time.Time
}

func newAdaptiveLimiter(limit rate.Limit, burst int, region string) *adaptiveLimiter {
	a := &adaptiveLimiter{Limiter: rate.NewLimiter(limit, burst), ceiling: limit, region: region, now: time.Now}
	a.publish()
	return a
}

// throttled halves the rate after ECS answered with throttling, once per decreaseInterval.
func (a *adaptiveLimiter) throttled() {
	if a.ceiling == rate.Inf {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if !a.lastDecrease.IsZero() && now.Sub(a.lastDecrease) < decreaseInterval {
		return
	}
	a.lastDecrease = now
	a.SetLimit(max(a.Limit()*decreaseFactor, min(minAdaptiveQPS, a.ceiling)))
	a.publish()
}

// succeeded raises the rate a little after a call ECS did not throttle.
func (a *adaptiveLimiter) succeeded() {
	if a.ceiling == rate.Inf || a.Limit() >= a.ceiling {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.SetLimit(min(a.ceiling, a.Limit()+a.ceiling*increaseShareOfRate))
	a.publish()
}

func (a *adaptiveLimiter) publish() {
	if a.ceiling != rate.Inf {
		rateLimitQPS.WithLabelValues(a.region).Set(float64(a.Limit()))
	}
}
