"""contact-auditor: can this company really be contacted?"""

__version__ = "0.1.0"

# Importing the package checks the reason-tag constants against data/reasons.toml
# (auditor.reasons refuses to import on a mismatch), so a tag renamed on one side
# only fails every entry point at once, not the first verdict that names it. The
# check parses one small TOML file: a few milliseconds, `auditor --help` stays fast.
from auditor import reasons  # noqa: E402,F401  (after __version__, which submodules may read)
