// Package bench measures the operator at scale: the real manager binary against a real
// kube-apiserver (envtest) and the ECS emulator. Run it with `make bench`; it prints ECS calls
// per action, their ratio to the arithmetic minimum, the time to converge and the manager's
// peak memory.
package bench
