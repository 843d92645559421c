"""The audit log: entries signed with a key kept outside the database and chained
(chain.py), the keys and their rotation (keys.py), witnessed heads sent to the admins
(witness.py), and what /audit shows (report.py)."""

from bot.services.audit.chain import GENESIS, Verification, record, verify
from bot.services.audit.keys import AuditKeys
from bot.services.audit.report import (
    ACTION_KEYS,
    LATEST,
    OBJECT_KEYS,
    Line,
    Pasted,
    Report,
    Witnessed,
    latest,
    report,
)

__all__ = [
    "ACTION_KEYS",
    "GENESIS",
    "LATEST",
    "OBJECT_KEYS",
    "AuditKeys",
    "Line",
    "Pasted",
    "Report",
    "Verification",
    "Witnessed",
    "latest",
    "record",
    "report",
    "verify",
]
