// Package controllers holds the KeyPairDetachment reconciler: a thin Reconcile that runs the
// phases of design.md §3 (observe, detach, reboot, summarize), one file per phase.
package controllers
