"""One structured audit line per admin action, on the `health_training.audit` logger: JSON with
the time, the admin key's id (the identity: a free-text name is only a note), the request id,
the action, its target and what changed. Log shippers route that logger to the audit store.

    {"at": "2026-12-06T09:12:03Z", "actor": "k_3f0c...", "request_id": "req-...",
     "action": "promote", "target": "version 3", "change": {"production": ["2", "3"]}, ...}
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

audit_log = logging.getLogger("health_training.audit")


def audit(request: Any, caller: Any, action: str, target: str, **change: Any) -> dict[str, Any]:
    """Write the line; the record (tests and responses use it)."""
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "actor": caller.key_id,
        "tenant": caller.tenant,
        "request_id": getattr(request.state, "request_id", None),
        "action": action,
        "target": target,
        "change": change,
    }
    audit_log.info(json.dumps(record, sort_keys=True, default=str))
    return record
