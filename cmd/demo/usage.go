package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// usageInfo is what the user needs to look around while the demo keeps running.
type usageInfo struct {
	kubeconfig  string
	emulatorURL string
	account     string
	manifests   string
	logFile     string
	fixed       []fixedManifest
}

// fixedManifest is an object rewritten without the instances that failed to detach.
type fixedManifest struct {
	name, path string
	dropped    int
}

// printUsage shows how to use kubectl against the demo and what the emulator offers.
func printUsage(out io.Writer, u usageInfo) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	// cmd writes a command with its comment aligned.
	cmd := func(command, comment string) { fmt.Fprintf(&b, "  %-62s # %s\n", command, comment) }
	w("")
	w("Look around from another terminal:")
	w("  export KUBECONFIG=%s", u.kubeconfig)
	cmd("kubectl get kpd -A", "the printer columns")
	cmd("kubectl describe kpd -n "+demoNamespace+" retire-finance-key-cmdb", "conditions, per-instance reasons, events")
	cmd("kubectl get kpd -n "+demoNamespace+" retire-finance-key -o yaml", "status.instances: one entry per instance")
	cmd("kubectl get events -n "+demoNamespace, "what the operator did, with ECS request IDs")
	for _, f := range u.fixed {
		w("  kubectl replace -f %s", f.path)
		w("      # %s without its %d failed IDs: watch it turn Ready", f.name, f.dropped)
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		w("  (no kubectl on PATH: install any recent one, https://kubernetes.io/docs/tasks/tools/)")
	}
	w("")
	w("The ECS emulator at %s (signed API, account %s; unsigned admin endpoints):", u.emulatorURL, u.account)
	cmd("curl -s "+u.emulatorURL+"/_emulator/stats", "calls per action, reboots per instance")
	cmd("curl -s "+u.emulatorURL+"/_emulator/instances", "every instance: status, key pair, StartTime")
	cmd("curl -s -X POST -d '{\"throttleRate\":0.3}' "+u.emulatorURL+"/_emulator/faults", "throttle 30% of calls ('{}' clears)")
	w("")
	w("Applied manifests: %s", u.manifests)
	w("Operator logs (JSON): %s", u.logFile)
	printf(out, "%s", b.String())
}
