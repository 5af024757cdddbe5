package ecsemu

import (
	"sync"
	"time"
)

// nonceCache remembers (AccessKey, nonce) pairs for at least the date window, so a captured
// request cannot be replayed while its date is still acceptable. Two generations rotated every
// window keep memory bounded without per-entry expiry bookkeeping.
type nonceCache struct {
	mu       sync.Mutex
	current  map[nonceKey]struct{}
	previous map[nonceKey]struct{}
	rotated  time.Time
}

type nonceKey struct{ accessKey, nonce string }

func newNonceCache() *nonceCache {
	return &nonceCache{current: map[nonceKey]struct{}{}, previous: map[nonceKey]struct{}{}, rotated: time.Now()}
}

// use records the nonce and reports whether it was fresh.
func (c *nonceCache) use(accessKey, nonce string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.rotated) > dateWindow {
		c.previous, c.current, c.rotated = c.current, map[nonceKey]struct{}{}, now
	}
	k := nonceKey{accessKey, nonce}
	if _, ok := c.current[k]; ok {
		return false
	}
	if _, ok := c.previous[k]; ok {
		return false
	}
	c.current[k] = struct{}{}
	return true
}
