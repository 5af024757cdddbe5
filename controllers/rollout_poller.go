package controllers

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/keypairs-dev/ecs-keypair-operator/internal/ecs"
)

// rolloutPoller shares the observation of rollouts per (identity, region): a pass that must
// observe its reboots in flight fills each DescribeInstances page (100 IDs) with the instances
// other objects on the same account and region are watching, so that twenty objects polling
// five reboots each cost one call, not twenty. Objects whose instances changed in such a shared
// observation are woken at once instead of waiting for their own poll.
type rolloutPoller struct {
	// fresh is how long an observation may be reused by another object's pass.
	fresh time.Duration
	now   func() time.Time
	// wake enqueues an object; nil in unit tests that do not need it.
	wake func(types.NamespacedName)

	mu     sync.Mutex
	scopes map[string]*pollScope
}

// pollScope is one (identity, region). mu is held while a pass observes, so that passes that
// run at the same moment share one call instead of each making its own.
type pollScope struct {
	mu       sync.Mutex
	watching map[types.NamespacedName]watchSet
	seen     map[string]polled
	// changedAt is when this process last asked ECS to change an instance: an observation that
	// started before that says nothing about the change.
	changedAt map[string]time.Time
}

// watchSet is what one object watches: instances in flight need an observation younger than
// fresh; the others (candidates for the next reboots) only one made since the last change.
type watchSet struct {
	ids      []string
	inFlight map[string]bool
}

// polled is what a rollout reads of an observation: the reboot phase looks at the status and
// StartTime only, so that is all the poller keeps. During a rollout of 100 objects × 1,000
// instances it holds one of these per instance.
type polled struct {
	status    string
	startTime time.Time
	found     bool
	// startedAt is when the DescribeInstances that returned it was sent.
	startedAt time.Time
}

// polledOf keeps the part of an ECS observation a rollout reads; the status is one of ECS's
// few values, shared rather than copied from each answer.
func polledOf(i ecs.Instance, found bool, startedAt time.Time) polled {
	return polled{status: ecs.CanonicalStatus(i.Status), startTime: i.StartTime, found: found, startedAt: startedAt}
}

// instance is the observation as the reboot phase reads it.
func (o polled) instance(id string) *ecs.Instance {
	return &ecs.Instance{ID: id, Status: o.status, StartTime: o.startTime}
}

func newRolloutPoller(fresh time.Duration, now func() time.Time, wake func(types.NamespacedName)) *rolloutPoller {
	return &rolloutPoller{fresh: fresh, now: now, wake: wake, scopes: map[string]*pollScope{}}
}

func (p *rolloutPoller) scope(key string) *pollScope {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.scopes[key]
	if s == nil {
		s = &pollScope{watching: map[types.NamespacedName]watchSet{}, seen: map[string]polled{}, changedAt: map[string]time.Time{}}
		p.scopes[key] = s
	}
	return s
}

// changed records that this process just asked ECS to change ids (a reboot request): earlier
// observations of them are stale for everyone.
func (p *rolloutPoller) changed(key string, ids []string) {
	s := p.scope(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := p.now()
	for _, id := range ids {
		s.changedAt[id] = now
		delete(s.seen, id)
	}
}

// forget drops everything owner watches (the object is gone or its rollout is over).
func (p *rolloutPoller) forget(owner types.NamespacedName) {
	p.mu.Lock()
	scopes := make([]*pollScope, 0, len(p.scopes))
	for _, s := range p.scopes {
		scopes = append(scopes, s)
	}
	p.mu.Unlock()
	for _, s := range scopes {
		s.mu.Lock()
		delete(s.watching, owner)
		s.prune()
		s.mu.Unlock()
	}
}

// leave drops what owner watches in scope key once its rollout has nothing left to watch:
// otherwise the observations of a finished rollout would stay until the object's next pass,
// a resync period later.
func (p *rolloutPoller) leave(key string, owner types.NamespacedName) {
	p.mu.Lock()
	s := p.scopes[key]
	p.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, watching := s.watching[owner]; watching {
		delete(s.watching, owner)
		s.prune()
	}
}

// observe returns owner's observation of ids (a part of tracked, what owner watches from now
// on). It first records known (what owner's pass observed itself), then reuses what is usable:
// an observation newer than the last change this process asked for, and for instances in
// flight also younger than fresh. The rest is described, with the spare room of the last page
// given to other objects' instances that lack a usable observation, those in flight first.
func (p *rolloutPoller) observe(ctx context.Context, cloud ecs.Client, key string, owner types.NamespacedName,
	ids, tracked []string, inFlight map[string]bool, known map[string]polled) (map[string]polled, error) {
	s := p.scope(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tracked) == 0 {
		delete(s.watching, owner)
		s.prune()
		return nil, nil
	}
	s.watching[owner] = watchSet{ids: slices.Clone(tracked), inFlight: inFlight}
	for id, o := range known {
		if before, ok := s.seen[id]; !ok || o.startedAt.After(before.startedAt) {
			s.seen[id] = o
		}
	}
	now := p.now()
	out := make(map[string]polled, len(ids))
	var missing []string
	for _, id := range ids {
		if o, ok := s.usable(id, inFlight[id], now, p.fresh); ok {
			out[id] = o
			continue
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	pages := fillPages(missing, s.othersLacking(owner, missing, now, p.fresh), ecs.MaxDescribeIDs)
	woken, err := s.describe(ctx, cloud, pages, owner, p.now)
	// What was described just now is newer than any change: changes take s.mu too.
	for _, id := range missing {
		if o, ok := s.seen[id]; ok && !o.startedAt.Before(s.changedAt[id]) {
			out[id] = o
		}
	}
	if p.wake != nil {
		for other := range woken {
			p.wake(other)
		}
	}
	return out, err
}

// usable returns the observation of id if it may stand for a new one.
func (s *pollScope) usable(id string, inFlight bool, now time.Time, fresh time.Duration) (polled, bool) {
	o, ok := s.seen[id]
	if !ok || !o.startedAt.After(s.changedAt[id]) || (inFlight && now.Sub(o.startedAt) >= fresh) {
		return polled{}, false
	}
	return o, true
}

// describe observes the pages into seen and returns the other owners whose instances changed.
// A failed page does not stop the others, except throttling.
func (s *pollScope) describe(ctx context.Context, cloud ecs.Client, pages [][]string, owner types.NamespacedName,
	now func() time.Time) (map[types.NamespacedName]bool, error) {
	woken := map[types.NamespacedName]bool{}
	var firstErr error
	for _, page := range pages {
		startedAt := now()
		found, err := cloud.DescribeInstances(ctx, page)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			if ecs.IsThrottling(err) {
				break
			}
			continue
		}
		byID := make(map[string]ecs.Instance, len(found))
		for _, f := range found {
			byID[f.ID] = f
		}
		for _, id := range page {
			f, ok := byID[id]
			o := polledOf(f, ok, startedAt)
			if before, seen := s.seen[id]; seen && before.differs(o) {
				for _, other := range s.ownersOf(id, owner) {
					woken[other] = true
				}
			}
			s.seen[id] = o
		}
	}
	return woken, firstErr
}

func (o polled) differs(other polled) bool {
	return o.found != other.found || o.status != other.status || !o.startTime.Equal(other.startTime)
}

// othersLacking lists the instances other objects watch that have no usable observation and
// are not in own, each once, those in flight first.
func (s *pollScope) othersLacking(owner types.NamespacedName, own []string, now time.Time, fresh time.Duration) []string {
	skip := make(map[string]bool, len(own))
	for _, id := range own {
		skip[id] = true
	}
	var flying, waiting []string
	for o, w := range s.watching {
		if o == owner {
			continue
		}
		for _, id := range w.ids {
			if skip[id] {
				continue
			}
			skip[id] = true
			if _, ok := s.usable(id, w.inFlight[id], now, fresh); ok {
				continue
			}
			if w.inFlight[id] {
				flying = append(flying, id)
			} else {
				waiting = append(waiting, id)
			}
		}
	}
	return append(flying, waiting...)
}

func (s *pollScope) ownersOf(id string, except types.NamespacedName) []types.NamespacedName {
	var out []types.NamespacedName
	for o, w := range s.watching {
		if o != except && slices.Contains(w.ids, id) {
			out = append(out, o)
		}
	}
	return out
}

// prune forgets what nobody watches any more, so the poller's memory follows the rollouts in
// flight, not every instance ever rebooted.
func (s *pollScope) prune() {
	watched := map[string]bool{}
	for _, w := range s.watching {
		for _, id := range w.ids {
			watched[id] = true
		}
	}
	for id := range s.seen {
		if !watched[id] {
			delete(s.seen, id)
		}
	}
	for id := range s.changedAt {
		if !watched[id] {
			delete(s.changedAt, id)
		}
	}
}

// fillPages splits own into pages of size and fills the room left in the last page with
// others: sharing never adds a call.
func fillPages(own, others []string, size int) [][]string {
	var pages [][]string
	for len(own) > 0 {
		n := min(size, len(own))
		pages = append(pages, slices.Clone(own[:n]))
		own = own[n:]
	}
	last := len(pages) - 1
	if room := size - len(pages[last]); room > 0 {
		pages[last] = append(pages[last], others[:min(room, len(others))]...)
	}
	return pages
}
