"""Distributed runs: companies queued in Redis, claimed with leases by workers on any machine.

:mod:`auditor.dist.queue` holds the queue and its atomic steps, :mod:`auditor.dist.claims`
a worker's claims (fed to the spider, asked by the store pipeline),
:mod:`auditor.dist.run` registration, enqueueing and the worker loop, and
:mod:`auditor.dist.validation` the validation batches the workers take after the
crawl. The per-host limits all workers share are :mod:`auditor.net.ratelimit`.
"""

DEFAULT_LEASE = 120.0  # seconds a claim lives without renewal (renewed every third of it)
