"""Validators: read harvested contact points, return verdicts; never mutate them."""
