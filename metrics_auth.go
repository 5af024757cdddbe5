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
	now    func() time.Time

	mu    sync.Mutex
	users map[[sha256.Size]byte]cachedUser // by the token's hash: tokens are never kept
	rules map[string]cachedDecision        // by user, verb and path
}

type cachedUser struct {
	user    *authenticationv1.UserInfo // nil: the token was refused
	expires time.Time
}

type cachedDecision struct {
	allowed bool
	expires time.Time
}

func newReviewAuth(tokens tokenReviewer, access accessReviewer, now func() time.Time) *reviewAuth {
	return &reviewAuth{tokens: tokens, access: access, now: now,
		users: map[[sha256.Size]byte]cachedUser{}, rules: map[string]cachedDecision{}}
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
	a.mu.Lock()
	c, ok := a.users[key]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.user, nil
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
	a.mu.Lock()
	if len(a.users) >= reviewCacheSize {
		clear(a.users)
	}
	a.users[key] = cachedUser{user: user, expires: a.now().Add(authnCacheTTL)}
	a.mu.Unlock()
	return user, nil
}

// authorize asks whether user may use the request's verb on its path.
func (a *reviewAuth) authorize(req *http.Request, user *authenticationv1.UserInfo) (bool, error) {
	verb := strings.ToLower(req.Method)
	key := strings.Join([]string{user.UID, user.Username, verb, req.URL.Path}, "\x00")
	a.mu.Lock()
	c, ok := a.rules[key]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.allowed, nil
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
	a.mu.Lock()
	if len(a.rules) >= reviewCacheSize {
		clear(a.rules)
	}
	a.rules[key] = cachedDecision{allowed: allowed, expires: a.now().Add(ttl)}
	a.mu.Unlock()
	return allowed, nil
}
