package main

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// envPodNamespace is set from the downward API by the chart and config/default.
const envPodNamespace = "POD_NAMESPACE"

// managerIdentityNamespaces parses --manager-identity-namespaces. Left empty, it grants the
// manager's own namespace only: whoever can create objects there can already read the
// manager's credentials Secret, so nothing is given away. Outside a Pod, with no POD_NAMESPACE
// and no flag, no namespace may use the identity, and the log says so at start.
func managerIdentityNamespaces(flagValue string, getenv func(string) string) ([]string, error) {
	if strings.TrimSpace(flagValue) == "" {
		if ns := strings.TrimSpace(getenv(envPodNamespace)); ns != "" {
			return []string{ns}, nil
		}
		return nil, nil
	}
	return parseNamespaceList(flagValue)
}

// parseNamespaceList splits a comma-separated list of namespace names, refusing empty entries
// and names Kubernetes would refuse, so that a typo fails at start instead of silently
// granting nothing.
func parseNamespaceList(value string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(value, ",") {
		ns := strings.TrimSpace(part)
		if ns == "" {
			return nil, fmt.Errorf("empty namespace in %q", value)
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("%q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}
