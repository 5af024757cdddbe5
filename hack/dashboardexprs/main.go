// Command dashboardexprs prints every "expr" of a Grafana dashboard read from standard input,
// one per line, and fails when the input is not JSON or holds no query. hack/check-packaging.sh
// uses it to check the chart's dashboard with nothing but Go installed.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	var dashboard any
	if err := json.NewDecoder(os.Stdin).Decode(&dashboard); err != nil {
		fmt.Fprintln(os.Stderr, "dashboardexprs: not JSON:", err)
		os.Exit(1)
	}
	var exprs []string
	collect(dashboard, &exprs)
	if len(exprs) == 0 {
		fmt.Fprintln(os.Stderr, "dashboardexprs: no queries")
		os.Exit(1)
	}
	for _, e := range exprs {
		fmt.Println(strings.ReplaceAll(e, "\n", " "))
	}
}

// collect walks the document and appends every string value of a key "expr".
func collect(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			collect(child, out)
		}
	case []any:
		for _, child := range v {
			collect(child, out)
		}
	}
}
