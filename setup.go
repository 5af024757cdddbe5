package main

import (
	ctrl "sigs.k8s.io/controller-runtime"
)

// setupReconcilers wires the controllers into the manager.
func setupReconcilers(_ ctrl.Manager, _ options) error {
	return nil
}
