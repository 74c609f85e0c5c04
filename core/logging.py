"""JSON log lines for the service: one object per line on stderr.

Each line has ``ts`` (UTC ISO 8601), ``level``, ``logger``, ``msg`` and, for
exceptions, ``exc``; extra fields passed with ``logger.info(..., extra={...})``
are kept when they are JSON-friendly. Log shippers and ``jq`` read it as is.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "configure"]

# Attributes every LogRecord has; anything else was passed through ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines (replacing other handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every housekeeping run at INFO; only its problems are news.
    logging.getLogger("apscheduler").setLevel(max(root.level, logging.WARNING))
