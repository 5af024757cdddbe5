package ecsemu

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

const (
	apiVersion    = "2014-05-26"
	acs3Algorithm = "ACS3-HMAC-SHA256"
	// dateWindow is how far a request's date may be from the server's clock, either way.
	dateWindow = 15 * time.Minute
	timeLayout = "2006-01-02T15:04:05Z"
)

// caller is an authenticated request: who signed it and what it asks for.
type caller struct {
	accessKey string
	action    string
	version   string
	params    map[string]string
}

// mandatoryV3Headers must be present and signed in every ACS3 request.
var mandatoryV3Headers = []string{
	"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version",
}

// authenticate verifies the request's signature, whichever of the two schemes it uses.
func (e *Emulator) authenticate(r *http.Request, body []byte) (*caller, *apiError) {
	params, err := requestParams(r, body)
	if err != nil {
		return nil, errInvalidParameter("query")
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "ACS3-") {
		return e.authenticateV3(r, body, auth, params)
	}
	if _, ok := params["Signature"]; ok {
		return e.authenticateV2(r, params)
	}
	return nil, errIncompleteSignature("The request signature is missing: " +
		"neither an ACS3 Authorization header nor a Signature parameter was sent.")
}

func (e *Emulator) authenticateV3(r *http.Request, body []byte, auth string, params map[string]string) (*caller, *apiError) {
	a, aerr := parseACS3Authorization(auth)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := checkSignedHeaders(r, a.signed); aerr != nil {
		return nil, aerr
	}
	account, aerr := e.checkV3Credentials(r, a.accessKey)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := verifyV3Signature(r, body, account, a); aerr != nil {
		return nil, aerr
	}
	if !e.nonces.use(a.accessKey, r.Header.Get("x-acs-signature-nonce")) {
		return nil, errNonceUsed()
	}
	return &caller{
		accessKey: a.accessKey,
		action:    r.Header.Get("x-acs-action"),
		version:   r.Header.Get("x-acs-version"),
		params:    params,
	}, nil
}

// acs3Authorization is the content of an ACS3 Authorization header.
type acs3Authorization struct {
	accessKey  string
	signedList string   // SignedHeaders as sent: lower-case names joined by ';'
	signed     []string // signedList split
	signature  string
}

// parseACS3Authorization reads "ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…".
func parseACS3Authorization(auth string) (acs3Authorization, *apiError) {
	algorithm, fields, _ := strings.Cut(auth, " ")
	if algorithm != acs3Algorithm {
		return acs3Authorization{}, errIncompleteSignature("The signature algorithm " + algorithm + " is not supported.")
	}
	parts := map[string]string{}
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		parts[k] = v
	}
	a := acs3Authorization{accessKey: parts["Credential"], signedList: parts["SignedHeaders"], signature: parts["Signature"]}
	if a.accessKey == "" || a.signedList == "" || a.signature == "" {
		return acs3Authorization{}, errIncompleteSignature("The Authorization header lacks Credential, SignedHeaders or Signature.")
	}
	a.signed = strings.Split(a.signedList, ";")
	return a, nil
}

// checkSignedHeaders requires every mandatory header to be present and signed, and every x-acs-*
// header to be signed.
func checkSignedHeaders(r *http.Request, signed []string) *apiError {
	signedSet := make(map[string]bool, len(signed))
	for _, h := range signed {
		signedSet[h] = true
	}
	for _, h := range mandatoryV3Headers {
		if !signedSet[h] || headerValue(r, h) == "" {
			return errIncompleteSignature("The header " + h + " is required and must be signed.")
		}
	}
	// An x-acs-* header outside the signature could change the request's meaning unnoticed.
	for name := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-acs-") && !signedSet[lower] {
			return errIncompleteSignature("The header " + lower + " is not signed.")
		}
	}
	return nil
}

// checkV3Credentials finds the signing account and checks the request's access key header,
// security token and date against it.
func (e *Emulator) checkV3Credentials(r *http.Request, accessKey string) (Account, *apiError) {
	account, ok := e.accounts[accessKey]
	if !ok {
		return Account{}, errAccessKeyNotFound()
	}
	if id := r.Header.Get("x-acs-accesskey-id"); id != "" && id != accessKey {
		return Account{}, errSecurityTokenMismatch()
	}
	if aerr := checkToken(account, r.Header.Get("x-acs-security-token")); aerr != nil {
		return Account{}, aerr
	}
	if aerr := checkDate(r.Header.Get("x-acs-date")); aerr != nil {
		return Account{}, aerr
	}
	return account, nil
}

// verifyV3Signature checks the body against x-acs-content-sha256 and the signature against the
// canonical request signed with the account's secret.
func verifyV3Signature(r *http.Request, body []byte, account Account, a acs3Authorization) *apiError {
	payloadHash := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payloadHash[:])
	if subtle.ConstantTimeCompare([]byte(payloadHex), []byte(strings.ToLower(r.Header.Get("x-acs-content-sha256")))) != 1 {
		return errSignatureDoesNotMatch()
	}
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + canonicalPath(r) + "\n" + canonicalQuery(r.URL.Query()) + "\n")
	for _, h := range a.signed {
		canon.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	canon.WriteString("\n" + a.signedList + "\n" + payloadHex)
	digest := sha256.Sum256([]byte(canon.String()))
	mac := hmac.New(sha256.New, []byte(account.AccessKeySecret))
	mac.Write([]byte(acs3Algorithm + "\n" + hex.EncodeToString(digest[:])))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(a.signature))) {
		return errSignatureDoesNotMatch()
	}
	return nil
}

func (e *Emulator) authenticateV2(r *http.Request, params map[string]string) (*caller, *apiError) {
	for _, p := range []string{"AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "Action", "Version"} {
		if params[p] == "" {
			return nil, errIncompleteSignature("The parameter " + p + " is required for a signed request.")
		}
	}
	if params["SignatureMethod"] != "HMAC-SHA1" || params["SignatureVersion"] != "1.0" {
		return nil, errIncompleteSignature("Only SignatureMethod HMAC-SHA1 with SignatureVersion 1.0 is supported.")
	}
	accessKey := params["AccessKeyId"]
	account, ok := e.accounts[accessKey]
	if !ok {
		return nil, errAccessKeyNotFound()
	}
	if aerr := checkToken(account, params["SecurityToken"]); aerr != nil {
		return nil, aerr
	}
	if aerr := checkDate(params["Timestamp"]); aerr != nil {
		return nil, aerr
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(params[k])
	}
	stringToSign := r.Method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(account.AccessKeySecret+"&"))
	mac.Write([]byte(stringToSign))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(params["Signature"])) {
		return nil, errSignatureDoesNotMatch()
	}
	if !e.nonces.use(accessKey, params["SignatureNonce"]) {
		return nil, errNonceUsed()
	}
	return &caller{accessKey: accessKey, action: params["Action"], version: params["Version"], params: params}, nil
}

// checkToken enforces STS: an account with a token must send exactly it; one without must
// send none.
func checkToken(a Account, sent string) *apiError {
	switch {
	case a.SecurityToken == "" && sent == "":
		return nil
	case a.SecurityToken != "" && sent == "":
		return errMissingSecurityToken()
	case subtle.ConstantTimeCompare([]byte(a.SecurityToken), []byte(sent)) != 1:
		return errSecurityTokenMismatch()
	}
	return nil
}

// checkDate uses the wall clock, not the emulator's Clock: the SDK stamps requests with real
// time, and a test's fake clock must not make every request stale.
func checkDate(value string) *apiError {
	t, err := time.Parse(timeLayout, value)
	if err != nil {
		return errTimestampFormat()
	}
	if d := time.Since(t); d > dateWindow || d < -dateWindow {
		return errTimestampExpired()
	}
	return nil
}

// headerValue is a header as signed: host as received, other headers' values trimmed, sorted and
// joined with commas, as the SDK builds them.
func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return r.Host
	}
	vals := r.Header.Values(name)
	trimmed := make([]string, len(vals))
	for i, v := range vals {
		trimmed[i] = strings.TrimSpace(v)
	}
	sort.Strings(trimmed)
	return strings.Join(trimmed, ",")
}

func canonicalPath(r *http.Request) string {
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// canonicalQuery re-encodes the decoded query: the wire uses '+' for spaces, the signature %20.
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			pairs = append(pairs, percentEncode(k)+"="+percentEncode(v))
		}
	}
	return strings.Join(pairs, "&")
}

// percentEncode is RFC 3986 encoding as Alibaba Cloud signatures use it.
func percentEncode(s string) string {
	s = url.QueryEscape(s)
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

// requestParams merges the query and a form body; RPC parameters may travel in either.
func requestParams(r *http.Request, body []byte) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range form {
			q[k] = append(q[k], v...)
		}
	}
	params := make(map[string]string, len(q))
	for k, v := range q {
		params[k] = v[0]
	}
	return params, nil
}
