package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeTokens authenticates the tokens it knows; it counts the reviews it answered.
type fakeTokens struct {
	users map[string]string
	err   error
	calls int
}

func (f *fakeTokens) Create(_ context.Context, r *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	name, ok := f.users[r.Spec.Token]
	r.Status = authenticationv1.TokenReviewStatus{Authenticated: ok, User: authenticationv1.UserInfo{Username: name, UID: "uid-" + name,
		Groups: []string{"system:serviceaccounts"}, Extra: map[string]authenticationv1.ExtraValue{"k": {"v"}}}}
	return r, nil
}

// fakeAccess allows get on /metrics to the users it lists.
type fakeAccess struct {
	allowed map[string]bool
	last    authorizationv1.SubjectAccessReviewSpec
	calls   int
}

func (f *fakeAccess) Create(_ context.Context, r *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	f.calls++
	f.last = r.Spec
	na := r.Spec.NonResourceAttributes
	r.Status.Allowed = f.allowed[r.Spec.User] && na != nil && na.Verb == "get" && na.Path == "/metrics"
	return r, nil
}

func TestMetricsAuthAsksTheAPIServerAndRemembersItsAnswers(t *testing.T) {
	tokens := &fakeTokens{users: map[string]string{"scraper-token": "scraper", "other-token": "other"}}
	access := &fakeAccess{allowed: map[string]bool{"scraper": true}}
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	a := newReviewAuth(tokens, access, func() time.Time { return clock })
	served := 0
	h := a.handler(logr.Discard(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	get := func(header string) int {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}

	cases := []struct {
		name, header string
		want         int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"not a bearer token", "Basic c2NyYXBlcjpwdw==", http.StatusUnauthorized},
		{"an empty bearer token", "Bearer ", http.StatusUnauthorized},
		{"a token the API server refuses", "Bearer forged", http.StatusUnauthorized},
		{"a token of a user not bound to metrics-reader", "Bearer other-token", http.StatusForbidden},
		{"the scraper's token", "Bearer scraper-token", http.StatusOK},
	}
	for _, c := range cases {
		if got := get(c.header); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if served != 1 {
		t.Fatalf("the metrics handler ran %d times, want once", served)
	}
	if access.last.User != "scraper" || access.last.UID != "uid-scraper" || len(access.last.Groups) != 1 || access.last.Extra["k"][0] != "v" {
		t.Errorf("the SubjectAccessReview did not carry the user as authenticated: %+v", access.last)
	}

	reviews, decisions := tokens.calls, access.calls
	get("Bearer scraper-token")
	get("Bearer other-token")
	if tokens.calls != reviews || access.calls != decisions {
		t.Errorf("answers not remembered: %d more TokenReviews, %d more SubjectAccessReviews",
			tokens.calls-reviews, access.calls-decisions)
	}
	clock = clock.Add(denyCacheTTL + time.Second)
	get("Bearer other-token")
	if access.calls != decisions+1 {
		t.Errorf("a denial must be asked again after %s", denyCacheTTL)
	}
	clock = clock.Add(allowCacheTTL)
	tokens.err = errors.New("API server down")
	if got := get("Bearer scraper-token"); got != http.StatusInternalServerError {
		t.Errorf("TokenReview failing: %d, want 500", got)
	}
}
