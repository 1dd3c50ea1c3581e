"""Keep API keys out of messages and logs."""

from __future__ import annotations

import logging
import re

_KEY_PARAM = re.compile(r"([?&]key=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """Return ``text`` with ``?key=...``/``&key=...`` values and ``secret`` replaced by ``REDACTED``."""
    text = _KEY_PARAM.sub(r"\1REDACTED", str(text))
    if secret:
        text = text.replace(secret, "REDACTED")
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts API keys from a record's formatted message."""

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; always keep it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is left alone
            return True
        clean = redact(message, self.secret)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(secret: str | None) -> None:
    """Attach a :class:`RedactingFilter` to urllib3's loggers (which log request URLs)."""
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3", "requests"):
        lg = logging.getLogger(name)
        for f in list(lg.filters):
            if isinstance(f, RedactingFilter):
                lg.removeFilter(f)
        lg.addFilter(RedactingFilter(secret))
