// Package e2e is the end-to-end test of the packaging: the real manager binary, run as a
// separate process with only the generated RBAC, against a real kube-apiserver and etcd
// (envtest) and the ECS emulator, killed with SIGKILL in the middle of a reboot rollout.
//
// The tests carry the build tag e2e, so `go test ./...` leaves them out; run them with
// `make test-e2e` (see docs/e2e.md).
package e2e
