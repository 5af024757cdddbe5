package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long answers of the API server are reused, as controller-runtime's
// filters.WithAuthenticationAndAuthorization reuses them: a scraper every 15 s costs the API
// server a review a minute, and a revoked binding stops working within 30 s of a denial or 5
// minutes of an approval.
const (
	authnCacheTTL   = time.Minute
	allowCacheTTL   = 5 * time.Minute
	denyCacheTTL    = 30 * time.Second
	reviewTimeout   = 10 * time.Second
	reviewCacheSize = 1024
)

// withTokenReviewAuth is the pattern of controller-runtime's
// filters.WithAuthenticationAndAuthorization, built on client-go alone: the caller's bearer
// token is authenticated with a TokenReview, then the user it names must be allowed the
// request's verb on its path (a SubjectAccessReview). That package pulls in k8s.io/apiserver,
// which doubled the binary and added 18 MiB to the manager's memory for two API calls.
func withTokenReviewAuth(config *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	a := newReviewAuth(authn.TokenReviews(), authz.SubjectAccessReviews(), time.Now)
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return a.handler(log, next), nil
	}, nil
}

type tokenReviewer interface {
	Create(ctx context.Context, review *authenticationv1.TokenReview, opts metav1.CreateOptions) (*authenticationv1.TokenReview, error)
}

type accessReviewer interface {
	Create(ctx context.Context, review *authorizationv1.SubjectAccessReview,
		opts metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error)
}

// reviewAuth authenticates and authorizes scrapes, remembering the API server's answers.
type reviewAuth struct {
	tokens tokenReviewer
	access accessReviewer

	// users is keyed by the token's hash, so tokens are never kept; a nil user is a token the
	// API server refused. rules is keyed by user, verb and path.
	users *ttlCache[[sha256.Size]byte, *authenticationv1.UserInfo]
	rules *ttlCache[string, bool]
}

func newReviewAuth(tokens tokenReviewer, access accessReviewer, now func() time.Time) *reviewAuth {
	return &reviewAuth{tokens: tokens, access: access,
		users: newTTLCache[[sha256.Size]byte, *authenticationv1.UserInfo](now),
		rules: newTTLCache[string, bool](now)}
}

// ttlCache remembers answers of the API server for a while. It holds at most reviewCacheSize
// entries and starts afresh past that, so a flood of bad tokens cannot grow it.
type ttlCache[K comparable, V any] struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[K comparable, V any](now func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{now: now, entries: map[K]ttlEntry[V]{}}
}

func (c *ttlCache[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *ttlCache[K, V]) put(key K, value V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= reviewCacheSize {
		clear(c.entries)
	}
	c.entries[key] = ttlEntry[V]{value: value, expires: c.now().Add(ttl)}
}

func (a *reviewAuth) handler(log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		user, err := a.authenticate(req, token)
		if err != nil {
			log.Error(err, "Authenticating a metrics request failed")
			http.Error(w, "Authentication failed", http.StatusInternalServerError)
			return
		}
		if user == nil {
			log.V(4).Info("Metrics request with a token the API server refused")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		allowed, err := a.authorize(req, user)
		if err != nil {
			log.Error(err, "Authorizing a metrics request failed", "user", user.Username)
			http.Error(w, "Authorization failed", http.StatusInternalServerError)
			return
		}
		if !allowed {
			log.V(4).Info("Metrics request denied", "user", user.Username)
			http.Error(w, fmt.Sprintf("Authorization denied for user %s", user.Username), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// bearerToken returns the request's bearer token, if it carries one.
func bearerToken(req *http.Request) (string, bool) {
	scheme, token, found := strings.Cut(req.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// authenticate returns the user the token stands for, or nil when the API server refuses it.
func (a *reviewAuth) authenticate(req *http.Request, token string) (*authenticationv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	if user, ok := a.users.get(key); ok {
		return user, nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), reviewTimeout)
	defer cancel()
	review, err := a.tokens.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenReview: %w", err)
	}
	var user *authenticationv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	a.users.put(key, user, authnCacheTTL)
	return user, nil
}

// authorize asks whether user may use the request's verb on its path.
func (a *reviewAuth) authorize(req *http.Request, user *authenticationv1.UserInfo) (bool, error) {
	verb := strings.ToLower(req.Method)
	key := strings.Join([]string{user.UID, user.Username, verb, req.URL.Path}, "\x00")
	if allowed, ok := a.rules.get(key); ok {
		return allowed, nil
	}
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	ctx, cancel := context.WithTimeout(req.Context(), reviewTimeout)
	defer cancel()
	review, err := a.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: req.URL.Path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := denyCacheTTL
	if allowed {
		ttl = allowCacheTTL
	}
	a.rules.put(key, allowed, ttl)
	return allowed, nil
}
