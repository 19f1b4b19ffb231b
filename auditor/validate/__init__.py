"""Validators: read harvested contact points, return verdicts; never mutate them.

``run`` dispatches every point to its validator (phone, email, links) and
returns the verdicts; ``browser`` judges a rendered page's chat launcher. The
pipeline stores the verdicts; rendering, which may add contact points, is
harvest's (:mod:`auditor.harvest.browser`).
"""
