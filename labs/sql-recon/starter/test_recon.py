"""Visible tests for the five .sql files: run them with ``pytest`` in this folder.

They run your queries on the sample tables in ``fixtures/``. Passing them is a good start, not
the finish line: ``iclab check`` runs the same files on other tables (other keys, currencies,
offsets and amounts), and plans and runs them on 20,000 rows a side to judge whether they would
scale to 1,000,000 (criterion 10), so hard-coded answers will not score.
"""

from decimal import Decimal
from pathlib import Path

import pytest

from recon import QUERIES, load_fixtures, run_query

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def db(tmp_path_factory):
    """A DuckDB file holding the sample source_txn and target_txn tables."""
    path = str(tmp_path_factory.mktemp("recon") / "recon.duckdb")
    load_fixtures(str(FIXTURES), path)
    return path


def rows(name, db):
    """The query's rows as sorted tuples: order never matters."""
    return sorted(tuple(row.values()) for row in run_query(name, db))


def mismatched(db):
    return {(row["txn_id"], row["field"]) for row in run_query("mismatches", db)}


def test_every_query_returns_the_contract_columns(db):
    expected = {
        "missing_in_target": ["txn_id"],
        "orphans_in_target": ["txn_id"],
        "duplicates": ["side", "txn_id", "row_count"],
        "mismatches": ["txn_id", "field"],
        "summary": ["source_rows", "target_rows", "unkeyed_rows", "missing_in_target", "orphans_in_target",
                    "duplicate_keys", "mismatched_keys", "reconciled_keys", "reconciled_pct"],
    }
    for name in QUERIES:
        assert list(run_query(name, db)[0]) == expected[name], name


def test_missing_in_target_despite_null_keys_in_the_target(db):
    # target_txn has NULL keys. INV-1016 is in the source twice but listed once;
    # "INV-1017  " is padded in the source and comes out trimmed.
    assert rows("missing_in_target", db) == [("INV-1015",), ("INV-1016",), ("INV-1017",)]


def test_orphans_in_target(db):
    # INV-1019 is in the target twice, once padded; "INV-1002   " is not an orphan.
    assert rows("orphans_in_target", db) == [("INV-1018",), ("INV-1019",)]


def test_duplicates_on_each_side_ignore_unkeyed_rows(db):
    # Keys are compared trimmed, so "INV-1020 " duplicates INV-1020. NULL and
    # blank keys are not keys: they never form a duplicate group.
    assert rows("duplicates", db) == [
        ("source", "INV-1016", 2),
        ("source", "INV-1020", 2),
        ("target", "INV-1019", 2),
        ("target", "INV-1021", 3),
    ]


def test_mismatches(db):
    assert sorted(mismatched(db)) == [
        ("INV-1009", "amount"),      # 250.00 vs 250.0200: 0.02 is over the tolerance
        ("INV-1010", "amount"),      # 1000.00 vs 1000.0101
        ("INV-1011", "currency"),    # same number, EUR vs USD
        ("INV-1012", "status"),
        ("INV-1013", "booked_at"),   # 14:00+01:00 is 13:00 UTC, not 14:00 UTC
        ("INV-1014", "amount"),
        ("INV-1014", "status"),
    ]


def test_differences_up_to_the_tolerance_are_not_mismatches(db):
    # 310.25 vs 310.2549, 99.99 vs 100.0000 and 0.30 vs 0.2900: at most 0.01 apart.
    found = {key for key, field in mismatched(db) if field == "amount"}
    assert found.isdisjoint({"INV-1003", "INV-1004", "INV-1008"})
    assert {"INV-1009", "INV-1010"} <= found


def test_codes_match_regardless_of_case_and_spaces(db):
    # "usd" = "USD", " eur" = "EUR", "Posted " = "posted" = "POSTED".
    keys = {key for key, _ in mismatched(db)}
    assert keys.isdisjoint({"INV-1002", "INV-1005"})
    assert ("INV-1011", "currency") in mismatched(db)


def test_the_same_instant_in_two_time_zones_is_equal(db):
    # 03:30+02:00 = 01:30 UTC; 23:30-05:00 on the 10th = 04:30 UTC on the 11th.
    found = {key for key, field in mismatched(db) if field == "booked_at"}
    assert found == {"INV-1013"}


def test_duplicated_keys_are_not_compared(db):
    # INV-1020 and INV-1021 are duplicated: report them in duplicates.sql only.
    assert {key for key, _ in mismatched(db)}.isdisjoint({"INV-1016", "INV-1020", "INV-1021"})


def test_summary(db):
    assert run_query("summary", db) == [{
        "source_rows": 23,
        "target_rows": 24,
        "unkeyed_rows": 5,
        "missing_in_target": 3,
        "orphans_in_target": 2,
        "duplicate_keys": 4,
        "mismatched_keys": 6,
        "reconciled_keys": 8,
        "reconciled_pct": Decimal("42.11"),   # 100 * 8 / 19 source keys
    }]
