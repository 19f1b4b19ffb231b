"""contact-auditor: can this company really be contacted?"""

__version__ = "0.1.0"
