"""Mobile numbers of designated contacts: normalised, checked and shown masked (138****1234)."""

from __future__ import annotations

import re

from mujun.errors import InputError

# Mainland mobile numbers: 11 digits starting 13–19.
MOBILE_RE = re.compile(r"1[3-9]\d{9}")


def normalise_phone(text: str | float | int | None) -> str | None:
    """The 11-digit mobile number in ``text`` (spaces, dashes, +86 and a spreadsheet's ``.0``
    dropped), or None when ``text`` holds no valid mobile number."""
    if text is None:
        return None
    if isinstance(text, float):
        if text != text or not text.is_integer():  # NaN or a fraction
            return None
        text = str(int(text))
    s = str(text).strip()
    if s.endswith(".0"):
        s = s[:-2]
    s = re.sub(r"[\s\-()（）]", "", s)
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    return s if MOBILE_RE.fullmatch(s) else None


def require_phone(text: str) -> str:
    """The normalised mobile number; InputError naming the value otherwise."""
    phone = normalise_phone(text)
    if phone is None:
        raise InputError(
            f"手机号码无效：{text!r}（应为 11 位手机号）/ invalid mobile number: 11 digits "
            "starting 13-19"
        )
    return phone


def mask_phone(phone: str | None) -> str | None:
    """The number with its middle four digits hidden: 138****1234 (None stays None)."""
    if not phone:
        return None
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"
