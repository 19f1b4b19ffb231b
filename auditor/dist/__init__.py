"""Distributed runs: companies queued in Redis, claimed with leases by workers on any machine.

:mod:`auditor.dist.queue` holds the queue and its atomic steps, :mod:`auditor.dist.claims`
a worker's claims (fed to the spider, asked by the store pipeline), and
:mod:`auditor.dist.run` registration, enqueueing and the worker loop.
"""

DEFAULT_LEASE = 120.0  # seconds a claim lives without renewal (renewed every third of it)
