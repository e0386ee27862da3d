"""Personal data never reaches the database in plain form."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import sqlalchemy as sa

from twin.domain.pii import PiiKey, id_check_digit, mask_id, mask_phone, protect_id, protect_phone
from twin.errors import LoadError
from twin.ingest.load import protect_people

KEY = PiiKey(b"k" * 32)
# A made-up number for the masking test itself (valid check digit, not a real person).
MADE_UP = "33048319900101123" + id_check_digit("33048319900101123")


def test_masks_keep_only_what_display_needs():
    assert mask_id(MADE_UP) == "330483********" + MADE_UP[-4:]
    assert mask_phone("13812345678") == "138****5678"
    digest, masked = protect_phone(KEY, "+86 138-1234-5678")
    assert masked == "138****5678" and re.fullmatch(r"[0-9a-f]{64}", digest)


def test_hash_is_keyed_and_stable():
    assert protect_id(KEY, MADE_UP) == protect_id(KEY, MADE_UP.lower())
    assert protect_id(KEY, MADE_UP)[0] != protect_id(PiiKey(b"x" * 32), MADE_UP)[0]
    assert "k" not in repr(KEY).lower().replace("piikey", "")


def test_bad_id_is_refused_naming_row_and_field():
    wrong = MADE_UP[:17] + ("0" if MADE_UP[17] != "0" else "1")
    frame = pd.DataFrame({"id": [1, 2], "id_number": [MADE_UP, wrong],
                          "phone": ["13812345678", "13912345678"]})
    with pytest.raises(LoadError, match="people row 2: field id_number"):
        protect_people(frame, KEY)
    with pytest.raises(ValueError, match="check digit"):
        protect_id(KEY, wrong)


def test_stored_people_hold_no_plain_numbers(sample_engine, village_sample):
    plain_ids = set(village_sample.people["id_number"])
    plain_phones = set(village_sample.people["phone"])
    with sample_engine.connect() as conn:
        columns = conn.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'people'"
        )).scalars().all()
        rows = conn.execute(sa.text("SELECT * FROM people")).mappings().all()
    assert "id_number" not in columns and "phone" not in columns
    text = {str(v) for row in rows for v in row.values()}
    assert not text & plain_ids and not text & plain_phones
    assert all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", r["id_masked"]) for r in rows)
