"""Waves: the same companies audited again and again, and what changed between passes (issue 15)."""
