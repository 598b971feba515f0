"""How Xtreme1's database compares names: MySQL 5.7's ``utf8mb4_general_ci``.

Xtreme1 runs on ``mysql:5.7`` with no collation declared, so dataset, class and data-item names
compare under ``utf8mb4_general_ci``:

* case-insensitive and accent-folding, one character at a time (``Café`` = ``CAFE``, ``ß`` = ``s``);
* trailing spaces are ignored by ``=`` and unique keys (PAD SPACE), but not by ``LIKE``;
* every character outside the Basic Multilingual Plane weighs the same (two emoji are equal);
* ``LIKE`` patterns treat ``%`` (any run) and ``_`` (one character) as wildcards, ``\\`` escapes.

Stdlib only: the emulator and the provider both use it, so the rule is written once.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["collation_key", "like_matches", "same_name"]

_REPLACEMENT = "\ufffd"


@lru_cache(maxsize=4096)
def _weight(char: str) -> str:
    if ord(char) > 0xFFFF:
        return _REPLACEMENT
    if char == "ß":
        return "S"
    base = unicodedata.normalize("NFD", char)[0]
    upper = base.upper()
    return upper if len(upper) == 1 else base


def _weights(text: str) -> str:
    return "".join(_weight(char) for char in text)


def collation_key(name: str) -> str:
    """The key under which two names are one name to a MySQL unique key or ``=``."""
    return _weights(name.rstrip(" "))


def same_name(left: str, right: str) -> bool:
    """Whether MySQL (``utf8mb4_general_ci``) considers the two names equal."""
    return collation_key(left) == collation_key(right)


def like_matches(value: str, pattern: str) -> bool:
    """``value LIKE pattern`` under ``utf8mb4_general_ci`` (``%``, ``_`` wildcards, ``\\`` escape)."""
    regex = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "\\")
            regex.append(re.escape(_weight(escaped)))
        elif char == "%":
            regex.append(".*")
        elif char == "_":
            regex.append(".")
        else:
            regex.append(re.escape(_weight(char)))
    return re.fullmatch("".join(regex), _weights(value), flags=re.DOTALL) is not None
