package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

var readyLine = regexp.MustCompile(`^listening on http://(127\.0\.0\.1:[0-9]+)$`)

type sdkHTTP struct{ c *http.Client }

func (h sdkHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req)
}

// TestProgram builds the command, runs it on the sample fleet, talks to it with the SDK and
// stops it with SIGTERM, as the demo and outside tools do.
func TestProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ecs-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--listen", "127.0.0.1:0", "--fleet", filepath.Join("..", "..", "config", "samples", "fleet.yaml"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("no ready line: %v", lines.Err())
	}
	m := readyLine.FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("ready line %q does not match %s", lines.Text(), readyLine)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	client, err := ecs.NewClient(&openapi.Config{
		AccessKeyId: dara.String("LTAI_DEMO"), AccessKeySecret: dara.String("demo-secret"),
		Endpoint: dara.String(m[1]), Protocol: dara.String("http"), RegionId: dara.String("cn-hangzhou"),
		ReadTimeout: dara.Int(5000), ConnectTimeout: dara.Int(5000),
		HttpClient: sdkHTTP{&http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.DescribeInstancesWithContext(ctx, &ecs.DescribeInstancesRequest{
		RegionId: dara.String("cn-hangzhou"), KeyPairName: dara.String("FinanceJoshuaV26"), MaxResults: dara.Int32(100),
	}, &dara.RuntimeOptions{})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	if n := tea.Int32Value(resp.Body.TotalCount); n < 3 {
		t.Errorf("sample fleet has %d instances with the demo key, want at least 3", n)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
}

func TestRunRejectsBadInvocations(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no fleet", []string{"--listen", "127.0.0.1:0"}, "--fleet is required"},
		{"missing fleet file", []string{"--fleet", filepath.Join(t.TempDir(), "none.yaml")}, "read fleet file"},
		{"unknown flag", []string{"--colour"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(tt.args, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%v) = %v, want an error mentioning %q", tt.args, err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before failing", out.String())
			}
		})
	}
}
