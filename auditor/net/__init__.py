"""The only place that resolves names and decides where the tool may connect."""
