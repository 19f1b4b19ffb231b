"""One module per schema revision: branch ``core`` (the audit) and ``inquiries`` (the probe)."""
