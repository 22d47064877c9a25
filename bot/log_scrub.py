"""Buyer tokens never reach a log: the signature of anything shaped like a buyer token is replaced,
in every log record's message and in formatted tracebacks, of every process that installs this."""

from __future__ import annotations

import logging
import re

# <buyer_id>.<expires_unix>.<64 hex digits of HMAC-SHA256>, also cut short (SQLAlchemy shortens
# long parameters in its error messages), and whatever a buyer_token key holds.
TOKEN = re.compile(r"([A-Za-z0-9_-]{1,64}\.\d{9,11}\.)[0-9a-fA-F]{4,64}")
TOKEN_VALUE = re.compile(r"""(\\?["']buyer_token\\?["']\s*:\s*\\?["'])[^"'\\]*""")
REDACTED = r"\1<redacted>"

_installed = False


def scrub(text: str) -> str:
    if not isinstance(text, str):
        return text
    return TOKEN_VALUE.sub(REDACTED, TOKEN.sub(REDACTED, text))


def install() -> None:
    """Idempotent; works whatever handlers are configured later (Rasa configures its own)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(scrubbed_record)
    format_exception = logging.Formatter.formatException
    format_stack = logging.Formatter.formatStack

    def scrubbed_exception(self, exc_info):
        return scrub(format_exception(self, exc_info))

    def scrubbed_stack(self, stack_info):
        return scrub(format_stack(self, stack_info))

    # Deliberate monkeypatch: every formatter's tracebacks and stacks go through scrub().
    logging.Formatter.formatException = scrubbed_exception  # type: ignore[method-assign]
    logging.Formatter.formatStack = scrubbed_stack  # type: ignore[method-assign]
