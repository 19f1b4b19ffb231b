"""What tests and benchmarks share: the DNS stub (the lab's own server), the fault matrix run, the
requirements policy (a missing server fails under CI), extraction checks."""
