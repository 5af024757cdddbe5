package main

import (
	"strings"
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
