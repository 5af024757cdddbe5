package ecsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

func describeLin1(t *testing.T, c *ecs.Client) error {
	t.Helper()
	_, err := c.DescribeInstancesWithContext(ctx(t), &ecs.DescribeInstancesRequest{
		RegionId: dara.String(testRegion), InstanceIds: jsonIDs("i-lin1"),
	}, rt())
	return err
}

func TestSignaturesAccepted(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	tests := []struct {
		name string
		cc   clientConfig
	}{
		{"ACS3-HMAC-SHA256", clientConfig{ak: testAK, secret: testSecret}},
		{"RPC HMAC-SHA1", clientConfig{ak: testAK, secret: testSecret, v2: true}},
		{"STS with ACS3", clientConfig{ak: stsAK, secret: stsSecret, token: stsToken}},
		{"STS with RPC", clientConfig{ak: stsAK, secret: stsSecret, token: stsToken, v2: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, ep, tt.cc)
			mustNoErr(t, describeLin1(t, c), "DescribeInstances")
			// Parameters that need escaping (JSON arrays, '*') must survive both canonical forms.
			resp, err := c.DescribeKeyPairsWithContext(ctx(t), &ecs.DescribeKeyPairsRequest{
				RegionId: dara.String(testRegion), KeyPairName: dara.String("Finance Joshua*"),
			}, rt())
			mustNoErr(t, err, "DescribeKeyPairs")
			if n := len(resp.Body.KeyPairs.KeyPair); n != 0 {
				t.Errorf("pattern with a space matched %d key pairs", n)
			}
			_, err = c.RebootInstancesWithContext(ctx(t), &ecs.RebootInstancesRequest{
				RegionId: dara.String(testRegion), InstanceId: stringPtrs([]string{"i-gen001", "i-gen002"}), DryRun: dara.Bool(true),
			}, rt())
			wantSDKError(t, err, "DRYRUN.SUCCESS", http.StatusBadRequest)
		})
	}
}

func TestSignaturesRejected(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	tests := []struct {
		name   string
		cc     clientConfig
		code   string
		status int
	}{
		{"wrong secret ACS3", clientConfig{ak: testAK, secret: "nope"}, "SignatureDoesNotMatch", http.StatusBadRequest},
		{"wrong secret RPC", clientConfig{ak: testAK, secret: "nope", v2: true}, "SignatureDoesNotMatch", http.StatusBadRequest},
		{"unknown access key", clientConfig{ak: "LTAI_NOBODY", secret: testSecret}, "InvalidAccessKeyId.NotFound", http.StatusNotFound},
		{"unknown access key RPC", clientConfig{ak: "LTAI_NOBODY", secret: testSecret, v2: true}, "InvalidAccessKeyId.NotFound", http.StatusNotFound},
		{"STS without token", clientConfig{ak: stsAK, secret: stsSecret}, "MissingSecurityToken", http.StatusBadRequest},
		{"STS with wrong token", clientConfig{ak: stsAK, secret: stsSecret, token: "forged"}, "InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest},
		{"STS with wrong token RPC", clientConfig{ak: stsAK, secret: stsSecret, token: "forged", v2: true}, "InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest},
		{"token on a plain key", clientConfig{ak: testAK, secret: testSecret, token: stsToken}, "InvalidSecurityToken.MismatchWithAccessKey", http.StatusBadRequest},
		{
			"tampered query ACS3",
			clientConfig{ak: testAK, secret: testSecret, tamper: setQuery("InstanceIds", `["i-lin2"]`)},
			"SignatureDoesNotMatch", http.StatusBadRequest,
		},
		{
			"tampered query RPC",
			clientConfig{ak: testAK, secret: testSecret, v2: true, tamper: setQuery("InstanceIds", `["i-lin2"]`)},
			"SignatureDoesNotMatch", http.StatusBadRequest,
		},
		{
			"added query parameter ACS3",
			clientConfig{ak: testAK, secret: testSecret, tamper: setQuery("KeyPairName", otherKey)},
			"SignatureDoesNotMatch", http.StatusBadRequest,
		},
		{
			"tampered host",
			clientConfig{ak: testAK, secret: testSecret, tamper: func(r *http.Request) { r.Host = "ecs.cn-beijing.aliyuncs.com" }},
			"SignatureDoesNotMatch", http.StatusBadRequest,
		},
		{
			"tampered signed header",
			clientConfig{ak: testAK, secret: testSecret, tamper: func(r *http.Request) { r.Header["x-acs-signature-nonce"] = []string{"other"} }},
			"SignatureDoesNotMatch", http.StatusBadRequest,
		},
		{
			"unsigned x-acs header",
			clientConfig{ak: testAK, secret: testSecret, tamper: func(r *http.Request) { r.Header.Set("X-Acs-Resource-Owner", "someone") }},
			"IncompleteSignature", http.StatusBadRequest,
		},
		{
			"no signature at all",
			clientConfig{ak: testAK, secret: testSecret, tamper: func(r *http.Request) { r.Header.Del("Authorization") }},
			"IncompleteSignature", http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ResetStats()
			err := describeLin1(t, newClient(t, ep, tt.cc))
			wantSDKError(t, err, tt.code, tt.status)
			s := e.Stats()
			if s.Rejected[tt.code] != 1 || len(s.Calls) != 0 {
				t.Errorf("rejected = %v, calls = %v: want one rejection and no call", s.Rejected, s.Calls)
			}
		})
	}
}

// setQuery changes a query parameter after the SDK signed the request.
func setQuery(key, value string) func(*http.Request) {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set(key, value)
		r.URL.RawQuery = q.Encode()
	}
}

func TestReplayedNonceRejected(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			e, ep := startEmulator(t, testFleet())
			var captured *http.Request
			cc := defaultClient()
			cc.v2 = v2
			cc.tamper = func(r *http.Request) { captured = r.Clone(r.Context()) }
			mustNoErr(t, describeLin1(t, newClient(t, ep, cc)), "first call")

			replay := captured.Clone(t.Context())
			replay.RequestURI = ""
			resp, err := http.DefaultClient.Do(replay)
			mustNoErr(t, err, "replay")
			code, status := decodeError(t, resp)
			if code != "SignatureNonceUsed" || status != http.StatusBadRequest {
				t.Errorf("replay answered %d %s, want 400 SignatureNonceUsed", status, code)
			}
			if s := e.Stats(); s.Rejected["SignatureNonceUsed"] != 1 || s.Calls["DescribeInstances"] != 1 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestCraftedRequests(t *testing.T) {
	_, ep := startEmulator(t, testFleet())
	now := time.Now().UTC()
	query := url.Values{"RegionId": {testRegion}, "InstanceIds": {`["i-lin1"]`}}
	tests := []struct {
		name    string
		action  string
		version string
		date    time.Time
		code    string
		status  int
	}{
		{"fresh and well signed", "DescribeInstances", apiVersion, now, "", http.StatusOK},
		{"stale date", "DescribeInstances", apiVersion, now.Add(-16 * time.Minute), "InvalidTimeStamp.Expired", http.StatusBadRequest},
		{"date in the future", "DescribeInstances", apiVersion, now.Add(16 * time.Minute), "InvalidTimeStamp.Expired", http.StatusBadRequest},
		{"date within window", "DescribeInstances", apiVersion, now.Add(-14 * time.Minute), "", http.StatusOK},
		{"unknown action", "DescribeEverything", apiVersion, now, "InvalidAction.NotFound", http.StatusNotFound},
		{"unknown version", "DescribeInstances", "2099-01-01", now, "InvalidVersion", http.StatusBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signV3(t, ep, testAK, testSecret, tt.action, tt.version, query, tt.date, fmt.Sprintf("nonce-%d", i))
			resp, err := http.DefaultClient.Do(req)
			mustNoErr(t, err, "request")
			if tt.code == "" {
				defer closeBody(t, resp.Body)
				if resp.StatusCode != http.StatusOK {
					code, _ := decodeError(t, resp)
					t.Fatalf("answered %d %s, want 200", resp.StatusCode, code)
				}
				return
			}
			if code, status := decodeError(t, resp); code != tt.code || status != tt.status {
				t.Errorf("answered %d %s, want %d %s", status, code, tt.status, tt.code)
			}
		})
	}
}

func TestUnknownActionThroughSDK(t *testing.T) {
	e, ep := startEmulator(t, testFleet())
	for _, v2 := range []bool{false, true} {
		cc := defaultClient()
		cc.v2 = v2
		c := newClient(t, ep, cc)
		params := &openapiutil.Params{
			Action: dara.String("StartInstance"), Version: dara.String(apiVersion), Protocol: dara.String("HTTPS"),
			Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"),
			Style: dara.String("RPC"), ReqBodyType: dara.String("formData"), BodyType: dara.String("json"),
		}
		_, err := c.CallApi(params, &openapiutil.OpenApiRequest{Query: map[string]*string{"InstanceId": dara.String("i-lin1")}}, rt())
		se := sdkError(t, err, "InvalidAction.NotFound", http.StatusNotFound)
		var body map[string]string
		mustNoErr(t, json.Unmarshal([]byte(tea.StringValue(se.Data)), &body), "decode error data")
		for _, f := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
			if body[f] == "" {
				t.Errorf("error body lacks %s: %v", f, body)
			}
		}
		if !strings.Contains(tea.StringValue(se.Message), body["RequestId"]) {
			t.Errorf("SDK message %q does not carry the request id", tea.StringValue(se.Message))
		}
	}
	if s := e.Stats(); s.Calls["StartInstance"] != 2 || s.Errors["InvalidAction.NotFound"] != 2 {
		t.Errorf("stats = %+v", s)
	}
}

// signV3 builds an ACS3-HMAC-SHA256 request the way ecs-api.md describes it, independently of
// the emulator's verifier, so tests can sign what the SDK never would (old dates, odd versions).
func signV3(t *testing.T, endpoint, ak, secret, action, version string, query url.Values, date time.Time, nonce string) *http.Request {
	t.Helper()
	emptyHash := sha256.Sum256(nil)
	headers := map[string]string{
		"host":                  endpoint,
		"x-acs-action":          action,
		"x-acs-version":         version,
		"x-acs-date":            date.UTC().Format("2006-01-02T15:04:05Z"),
		"x-acs-signature-nonce": nonce,
		"x-acs-content-sha256":  hex.EncodeToString(emptyHash[:]),
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + headers[k] + "\n")
	}
	canonQuery := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(query.Encode())
	canon := "POST\n/\n" + canonQuery + "\n" + canonHeaders.String() + "\n" + strings.Join(names, ";") + "\n" + headers["x-acs-content-sha256"]
	digest := sha256.Sum256([]byte(canon))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(digest[:])))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+endpoint+"/?"+query.Encode(), nil)
	mustNoErr(t, err, "build request")
	for k, v := range headers {
		if k != "host" {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+ak+",SignedHeaders="+strings.Join(names, ";")+
		",Signature="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

func decodeError(t *testing.T, resp *http.Response) (string, int) {
	t.Helper()
	defer closeBody(t, resp.Body)
	var body errorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode error body (HTTP %d): %v", resp.StatusCode, err)
	}
	if body.RequestID == "" || body.Message == "" {
		t.Errorf("error body incomplete: %+v", body)
	}
	return body.Code, resp.StatusCode
}
