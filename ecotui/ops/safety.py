"""Which contexts are critical (production): their confirmations use the critical colour and ask to type
the object's name. The pattern is configurable (config `critical_contexts:`, a regular expression matched
anywhere in the context name, case-insensitive); default: prod, production, live as words."""
from __future__ import annotations

import re

DEFAULT_CRITICAL = r"(^|[^a-z0-9])(prod|production|live)([^a-z0-9]|$)"


def is_critical(context: str, pattern: str | None = None) -> bool:
    try:
        return re.search(pattern or DEFAULT_CRITICAL, context, re.IGNORECASE) is not None
    except re.error:
        return re.search(DEFAULT_CRITICAL, context, re.IGNORECASE) is not None
