"""One wording for pydantic validation errors: ``field.path: message``, joined by ``; ``.

Settings and event parsing both report what was wrong by the name the caller knows (an environment variable, a
record's field path), so they share this rather than each formatting pydantic's error list.
"""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, prefix: str = "", unnamed: str | None = None) -> str:
    """Each error as ``prefix.location: message``.

    An error without a location (a model-level check) is named ``prefix`` or ``unnamed``; with neither, the message
    stands alone.
    """
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or unnamed)
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)
