//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The scrapers: one bound to the shipped metrics-reader ClusterRole, one bound to nothing.
const (
	metricsNamespace      = "e2e-metrics"
	metricsScraper        = "metrics-scraper"
	metricsUnboundAccount = "metrics-unbound"
)

// scraperToken creates a ServiceAccount and returns a token for it from the TokenRequest API,
// once the API server's TokenReview accepts it. The manager caches every TokenReview answer for
// a minute, failures included, so a token first shown to it before the API server knows the
// account would be refused for that long.
func scraperToken(ctx context.Context, namespace, name string) string {
	GinkgoHelper()
	Expect(admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}})).To(Succeed())
	clientset, err := kubernetes.NewForConfig(testEnv.Config)
	Expect(err).NotTo(HaveOccurred())
	var token string
	Eventually(func(g Gomega) {
		tr, err := clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
		}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}
		g.Expect(admin.Create(ctx, review)).To(Succeed())
		g.Expect(review.Status.Authenticated).To(BeTrue(), "TokenReview: %s", review.Status.Error)
		g.Expect(review.Status.User.Username).To(Equal(serviceAccountUser(namespace, name)))
		token = tr.Status.Token
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return token
}

// awaitMetricsAccess waits until the API server's RBAC answers a SubjectAccessReview for get
// on /metrics as want: the manager caches a denial for 30 seconds, so a binding it is asked
// about before the API server has seen it would look absent.
func awaitMetricsAccess(ctx context.Context, user string, want bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:                  user,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}
		g.Expect(admin.Create(ctx, sar)).To(Succeed())
		g.Expect(sar.Status.Allowed).To(Equal(want), "SubjectAccessReview for %s: %s", user, sar.Status.Reason)
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func serviceAccountUser(namespace, name string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name)
}

func serviceAccountSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}
}

// scrapeMetrics GETs /metrics of the current manager run, with a bearer token unless it is
// empty, and returns the status code and body. The certificate is the manager's self-signed
// one, so it is not verified: what is under test is who may read, not who serves.
func scrapeMetrics(g Gomega, token string) (int, string) {
	c := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
	}
	req, err := http.NewRequest(http.MethodGet, "https://"+manager.metrics+"/metrics", nil)
	g.Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}
