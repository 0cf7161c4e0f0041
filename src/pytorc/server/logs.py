"""The server's logging: readable lines on stderr, and an optional rotating log file.

With `json_logs` the file (only the file, as in Torc) holds one JSON object per record, so log
aggregators can read it; the console stays readable for the person watching it.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path

from pytorc.config import ServerLogging

LOG_FILE = "torc-server.log"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LEVELS = {"trace": "DEBUG", "warn": "WARNING"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; json.dumps escapes quotes and newlines in any message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="microseconds"
            ),
            "level": record.levelname,
            "target": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
            "line": record.lineno,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, settings: ServerLogging) -> list[str]:
    """Install the handlers; returns warnings to log once logging works."""
    warnings: list[str] = []
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter(TEXT_FORMAT))
    handlers: list[logging.Handler] = [console]
    if settings.log_dir:
        folder = Path(settings.log_dir)
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            folder / LOG_FILE, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(
            JsonFormatter() if settings.json_logs else logging.Formatter(TEXT_FORMAT)
        )
        handlers.append(file_handler)
    elif settings.json_logs:
        warnings.append("--json-logs formats the log file only; without --log-dir it does nothing")
    logging.basicConfig(
        level=getattr(logging, _LEVELS.get(level, level.upper())), handlers=handlers, force=True
    )
    return warnings
