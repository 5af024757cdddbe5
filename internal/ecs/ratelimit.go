package ecs

import (
	"sync"

	"golang.org/x/time/rate"
)

// limiterSet holds one client-side budget per (identity, region), because ECS throttles per
// account and region: every client of the same pair must draw from the same bucket, however
// many objects or goroutines use it.
type limiterSet struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[limiterKey]*rate.Limiter
}

type limiterKey struct{ identity, region string }

// newLimiterSet: qps <= 0 means no client-side limit; burst below 1 is raised to 1 so that a
// positive qps cannot block forever.
func newLimiterSet(qps float64, burst int) *limiterSet {
	s := &limiterSet{limit: rate.Inf, burst: burst, m: map[limiterKey]*rate.Limiter{}}
	if qps > 0 {
		s.limit = rate.Limit(qps)
		if s.burst < 1 {
			s.burst = 1
		}
	}
	return s
}

// get never forgets a limiter: the set grows with the number of distinct access keys and
// regions the operator has seen, which is small.
func (s *limiterSet) get(identity, region string) *rate.Limiter {
	k := limiterKey{identity, region}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.m[k]
	if !ok {
		l = rate.NewLimiter(s.limit, s.burst)
		s.m[k] = l
	}
	return l
}
