package ecs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	credential "github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// Environment variables of the manager's own identity, as Alibaba Cloud tools and the ACK
// pod-identity webhook (RRSA) spell them.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
	EnvRoleARN         = "ALIBABA_CLOUD_ROLE_ARN"
	EnvOIDCProviderARN = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
	EnvOIDCTokenFile   = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
	EnvSTSRegion       = "ALIBABA_CLOUD_STS_REGION"
	EnvVPCEndpoint     = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
)

// roleSessionName shows in ActionTrail which program assumed the RRSA role.
const roleSessionName = "ecs-keypair-operator"

// identity is who signs the calls: a credential for the SDK and the key that names the
// account-side rate-limit budget it draws from.
type identity struct {
	// limitKey is the AccessKeyID for static keys, the role ARN for RRSA: calls made under
	// the same key share ECS's throttling budget.
	limitKey string
	// describe says who this is in logs; never secret.
	describe   string
	credential credential.Credential
	// secret is redacted from ECS messages, in case one ever echoes it.
	secret string
}

// staticIdentity wraps keys from a Secret. It builds the provider itself because
// credentials-go's static builders fall back to the process environment for empty fields,
// which would sign a Secret's object with the manager's keys.
func staticIdentity(c Credentials, source string) (*identity, error) {
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return nil, &localError{code: CodeNoIdentity, msg: source + ": access key id and secret are both required"}
	}
	kind := "access_key"
	if c.SecurityToken != "" {
		kind = "sts"
	}
	p := &staticProvider{creds: providers.Credentials{
		AccessKeyId:     c.AccessKeyID,
		AccessKeySecret: c.AccessKeySecret,
		SecurityToken:   c.SecurityToken,
		ProviderName:    "static_" + kind,
	}}
	return &identity{
		limitKey:   staticLimitKey(c.AccessKeyID),
		describe:   fmt.Sprintf("%s (access key %s)", source, c.AccessKeyID),
		credential: credential.FromCredentialsProvider(kind, p),
		secret:     c.AccessKeySecret,
	}, nil
}

// ambientIdentity decides the manager's own identity from the environment, explicitly and
// once: static keys, else RRSA, else none. It never reaches the instance metadata service,
// whose role inside a pod is the node's, not the operator's. A nil identity with a nil error
// means "none configured".
func ambientIdentity(env func(string) string, timeout time.Duration) (*identity, error) {
	if id, secret := env(EnvAccessKeyID), env(EnvAccessKeySecret); id != "" || secret != "" {
		return staticIdentity(Credentials{
			AccessKeyID:     id,
			AccessKeySecret: secret,
			SecurityToken:   env(EnvSecurityToken),
		}, "environment "+EnvAccessKeyID+"/"+EnvAccessKeySecret)
	}
	role, oidcARN, tokenFile := env(EnvRoleARN), env(EnvOIDCProviderARN), env(EnvOIDCTokenFile)
	if role == "" && oidcARN == "" && tokenFile == "" {
		return nil, nil
	}
	if role == "" || oidcARN == "" || tokenFile == "" {
		return nil, &localError{code: CodeNoIdentity, msg: fmt.Sprintf(
			"RRSA needs %s, %s and %s all set", EnvRoleARN, EnvOIDCProviderARN, EnvOIDCTokenFile)}
	}
	if _, err := os.Stat(tokenFile); err != nil {
		return nil, &localError{code: CodeNoIdentity, msg: "RRSA token file " + tokenFile + " is not readable", err: err}
	}
	// Every field is set explicitly: the builder otherwise reads the process environment.
	prefix := "sts"
	if env(EnvVPCEndpoint) == "true" {
		prefix = "sts-vpc"
	}
	stsEndpoint := prefix + ".aliyuncs.com"
	if r := env(EnvSTSRegion); r != "" {
		stsEndpoint = prefix + "." + r + ".aliyuncs.com"
	}
	ms := int(timeout / time.Millisecond)
	p, err := providers.NewOIDCCredentialsProviderBuilder().
		WithRoleArn(role).
		WithOIDCProviderARN(oidcARN).
		WithOIDCTokenFilePath(tokenFile).
		WithRoleSessionName(roleSessionName).
		WithSTSEndpoint(stsEndpoint).
		WithHttpOptions(&providers.HttpOptions{ConnectTimeout: ms, ReadTimeout: ms}).
		Build()
	if err != nil {
		return nil, &localError{code: CodeNoIdentity, msg: "RRSA provider", err: err}
	}
	return &identity{
		limitKey:   "role:" + role,
		describe:   fmt.Sprintf("RRSA role %s", role),
		credential: credential.FromCredentialsProvider("oidc_role_arn", &serialProvider{next: p}),
	}, nil
}

type staticProvider struct{ creds providers.Credentials }

func (p *staticProvider) GetCredentials() (*providers.Credentials, error) {
	c := p.creds
	return &c, nil
}

func (p *staticProvider) GetProviderName() string { return p.creds.ProviderName }

// serialProvider serialises a refreshing provider: credentials-go's OIDC provider keeps its
// session without locking, so concurrent callers race on it and each starts its own STS
// exchange. One provider is shared by every client of the factory.
type serialProvider struct {
	mu   sync.Mutex
	next providers.CredentialsProvider
}

func (p *serialProvider) GetCredentials() (*providers.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.next.GetCredentials()
	if err == nil {
		return c, nil
	}
	// STS out of reach is transient; STS refusing the token, or no token, needs a human.
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return nil, fmt.Errorf("RRSA token exchange: %w", err)
	}
	return nil, &localError{code: CodeCredentialsUnavailable, msg: "RRSA token exchange", err: err}
}

func (p *serialProvider) GetProviderName() string { return p.next.GetProviderName() }

// staticLimitKey names the budget of an access key: ECS throttles per account, and calls
// signed with one key count against one budget.
func staticLimitKey(accessKeyID string) string { return "ak:" + accessKeyID }
