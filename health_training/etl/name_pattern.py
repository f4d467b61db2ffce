"""How a measure's name is matched in text and keyed: the one spelling rule every reader shares."""

from __future__ import annotations

import re


def spaced(name: str) -> str:
    """A name's pattern: a space in it may be a hyphen too ("peak heart-rate"), never a line
    break ("Sleep\nTime in bed" is two lines of an app's export)."""
    return r"[ \t-]".join(re.escape(word) for word in name.split(" "))


def name_key(name: str) -> str:
    """A name as written, as the name tables key it: lower case, a hyphen or any space one space."""
    return re.sub(r"[ \t-]", " ", name.lower())
