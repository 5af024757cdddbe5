package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// retriedPasses returns the manager's log lines about passes that failed and were retried.
func retriedPasses(b *testing.B, logPath string) []string {
	b.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "retrying") {
			out = append(out, line)
		}
	}
	return out
}

// tail returns the last n lines of a file: enough to see why a run did not converge without
// burying the report under a 10,000-instance log.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines in %s)", len(lines)-n, path)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
