"""Personal data: ID-card and phone numbers become a keyed hash (for matching) and a mask
(for display) before anything is stored. The plain number never reaches the database."""

from __future__ import annotations

import hashlib
import hmac
import re

from twin.config import Settings, local_secret

_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")
_PHONE_RE = re.compile(r"^1\d{10}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class PiiKey:
    """The secret key of the keyed hash (HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the personal-data key must be at least 16 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiKey:
        """``TWIN_PII_KEY`` if set, else a key made once and kept (mode 600) in the data folder."""
        return cls(local_secret(settings, "pii", settings.pii_key))

    def digest(self, kind: str, value: str) -> str:
        """Hex HMAC of a normalised value; ``kind`` keeps ID and phone hashes apart."""
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never print the key
        return "PiiKey(<hidden>)"


def normalise_id(value: str) -> str:
    """An 18-character resident ID in canonical form, or ValueError naming the reason."""
    v = value.strip().upper()
    if not _ID_RE.match(v):
        raise ValueError("not an 18-character resident ID number")
    total = sum(int(c) * w for c, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != v[17]:
        raise ValueError("resident ID number has a wrong check digit")
    return v


def normalise_phone(value: str) -> str:
    """An 11-digit mainland mobile number (a +86/0086 prefix and separators are dropped)."""
    v = re.sub(r"[\s\-()]", "", value)
    v = re.sub(r"^(\+86|0086)", "", v)
    if not _PHONE_RE.match(v):
        raise ValueError("not an 11-digit mobile number")
    return v


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id(value: str) -> str:
    """330483********1234: region kept, birth date and sequence hidden."""
    return value[:6] + "*" * 8 + value[-4:]


def mask_phone(value: str) -> str:
    """138****5678."""
    return value[:3] + "****" + value[-4:]


def protect_id(key: PiiKey, value: str) -> tuple[str, str]:
    """(hash, mask) of a resident ID number."""
    v = normalise_id(value)
    return key.digest("id", v), mask_id(v)


def protect_phone(key: PiiKey, value: str) -> tuple[str, str]:
    """(hash, mask) of a mobile number."""
    v = normalise_phone(value)
    return key.digest("phone", v), mask_phone(v)


# ID-card and phone numbers as people write them into free text (a complaint, a note, a
# hotline record): an 18-character ID; a mobile, with or without +86 and separators; a
# landline with its area code. Each is masked as the register masks it.
TEXT_PATTERNS = (
    (re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])"),
     r"\1********\2"),
    (re.compile(r"(?<![\d+])((?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)"),
     r"\1\2****\3"),
    (re.compile(r"(?<![\d-])(0\d{2,3})([\s-]?)\d{3,4}(\d{4})(?!\d)"), r"\1\2****\3"),
)


def scrub_text(text: str | None) -> str | None:
    """Free text with every ID-card and phone number in it masked (330483********123X,
    138****5678, 0573-****3456): what a person types is scrubbed before it is stored."""
    if not text:
        return text
    for pattern, mask in TEXT_PATTERNS:
        text = pattern.sub(mask, text)
    return text


def typed_text(value: str | None, what: str, error: type[Exception], *,
               required: bool = True, limit: int = 2000) -> str | None:
    """What a person typed, as it is stored: trimmed and scrubbed (scrub_text); None when
    empty. ``error`` (naming ``what``) when it is required and empty, holds a NUL, or is
    longer than ``limit``."""
    value = scrub_text((value or "").strip()) or None
    if value is None and required:
        raise error(f"{what} is empty")
    if value and "\x00" in value:
        raise error(f"{what} holds a NUL character")
    if value and len(value) > limit:
        raise error(f"{what} is {len(value)} characters: at most {limit}")
    return value


def mask_name(value: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜: the surname and, for longer names, the last character."""
    if len(value) <= 2:
        return value[:1] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]
