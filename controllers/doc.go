// Package controllers holds the reconcilers of KeyPairDetachment and KeyPairAttachment: a thin
// Reconcile that runs the phases of design.md §3 (observe, change, reboot, summarize), one file
// per phase, shared by both kinds. What differs between the kinds (which instances qualify,
// which ECS call is made, the names in status) is a descriptor in kinds.go.
package controllers
