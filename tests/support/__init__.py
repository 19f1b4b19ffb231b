"""What tests and benchmarks share: the requirements policy (a missing server fails under CI), the
servers tests start themselves (PostgreSQL, Redis), the DNS stub (the lab's own server), the fault
matrix run, extraction checks."""
