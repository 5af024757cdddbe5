// Package bench measures the operator at scale: the real manager binary against a real
// kube-apiserver (envtest) and the ECS emulator. Run it with `make bench`; it prints ECS calls
// per action, their ratio to the arithmetic minimum, the time to converge and the manager's
// peak memory.
//
// BenchmarkDetachUnderFaults and BenchmarkSoak run the same work twice in one benchmark,
// fault-free and then with faults injected (and, in the soak, the manager SIGKILLed), each
// run with its own emulator, namespace and manager process, and print the two side by side
// so that what the faults cost is read off one table. Times are printed, never asserted: the
// machine decides them. What must hold whatever the machine (each instance rebooted exactly
// once, maxConcurrent respected, nothing failed) fails the benchmark.
package bench
