"""Live probes: opt-in checks that contact a company's line or inbox the way a customer would."""
