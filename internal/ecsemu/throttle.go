package ecsemu

import (
	"math"
	"sync"
	"time"
)

// throttler keeps one token bucket per (AccessKey, region, action), as ECS budgets calls.
type throttler struct {
	mu      sync.Mutex
	cfg     Throttle
	buckets map[throttleKey]*bucket
}

type throttleKey struct{ accessKey, region, action string }

type bucket struct {
	tokens float64
	last   time.Time
}

func newThrottler(cfg Throttle) *throttler {
	return &throttler{cfg: cfg, buckets: map[throttleKey]*bucket{}}
}

func (t *throttler) reset(cfg Throttle) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg = cfg
	t.buckets = map[throttleKey]*bucket{}
}

// allow takes a token for key at now, reporting false when the bucket is empty.
func (t *throttler) allow(key throttleKey, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.QPS <= 0 {
		return true
	}
	size := float64(t.cfg.Burst)
	if size <= 0 {
		size = math.Max(1, t.cfg.QPS)
	}
	b := t.buckets[key]
	if b == nil {
		b = &bucket{tokens: size, last: now}
		t.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(size, b.tokens+elapsed.Seconds()*t.cfg.QPS)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
