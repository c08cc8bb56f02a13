"""Masking hides secrets and reduces personal data to its shape, and leaves evidence readable."""
from __future__ import annotations

import pytest

from graders.masking import luhn_ok, mask


@pytest.mark.parametrize("raw, hidden", [
    ("Authorization: Bearer abcdefghijkl123", "abcdefghijkl123"),
    ("client_secret=s3cr3tvalue&grant_type=client_credentials", "s3cr3tvalue"),
    ('{"password": "hunter22", "user": "bob"}', "hunter22"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlZm9v", "eyJzdWIiOiIxMjMifQ"),
    ("mail Sales@Northwind.example now", "Sales@"),
    ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
    ("call +442079460958", "2079460958"),
])
def test_secrets_and_pii_are_hidden(raw, hidden):
    assert hidden not in mask(raw)


@pytest.mark.parametrize("safe", [
    "2024-03-14T09:05:00Z", "amount 1234567.89", "order 1234567890123456", "corr 7f3e-11aa-42",
    "acc_00017", "created_at: expected \"2021-02-17T08:53:00Z\"",
])
def test_identifiers_timestamps_and_amounts_stay_readable(safe):
    assert mask(safe) == safe


def test_shape_is_kept_for_learners():
    assert mask("ops@acme.example") == "o***@acme.example"
    assert mask("+442079460958").startswith("+44") and mask("+442079460958").endswith("0958")
    assert mask("4111111111111111") == "**** 1111"


def test_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
