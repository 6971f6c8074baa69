"""The policy: declarations, service tables, verdicts and the entry-point procedures.

Everything here decides; nothing here does I/O. An auditor signs off these modules.
"""
