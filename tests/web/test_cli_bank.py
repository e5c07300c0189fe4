"""``payroute bank``: the operator's levers on the simulated bank (ROLL-3), one line per answer, exit 2 on
a bad value or a missing schema, never a traceback."""

from __future__ import annotations

import json

import pytest

from engine.payments import stored_bank
from engine.services import utc_now


@pytest.mark.rule("ROLL-3")
def test_credit_close_script_and_show_the_stored_book(svc, database_url, cli) -> None:
    url = ("--database-url", database_url)
    assert cli("bank", *url, "credit", "acct-1", "2500.50").out.strip() == "acct-1: balance 2500.50 (production book)"
    assert cli("bank", *url, "credit", "acct-1", "0.50").out.strip() == "acct-1: balance 2501.00 (production book)"
    assert cli("bank", *url, "close", "acct-2").code == 0
    assert cli("bank", *url, "fail", "instr-1", "account frozen").code == 0
    assert cli("bank", *url, "timeout", "instr-2", "3").code == 0
    assert "10 s after" in cli("bank", *url, "settle-after", "10").out
    assert cli("bank", *url, "--sandbox", "credit", "acct-1", "7.00").code == 0
    shown = json.loads(cli("bank", *url, "show", "--format", "json").out)
    assert shown["book"] == "production" and shown["settle_after"] == 10
    assert shown["accounts"] == {"acct-1": {"balance": "2501.00", "closed": False},
                                 "acct-2": {"balance": "0.00", "closed": True}}
    assert (shown["failures"], shown["timeouts"]) == ({"instr-1": "account frozen"}, {"instr-2": 3})
    sandbox = stored_bank.book(svc.db, stored_bank.SANDBOX, now=utc_now())
    assert sandbox.accounts["acct-1"].balance == 7  # the other book, untouched by production's levers
    text = cli("bank", *url, "show").out
    assert "settle 10 s after they are taken" in text and "acct-2" in text and "closed" in text
    assert "at 18:00 New York" in cli("bank", *url, "settle-after", "evening").out


@pytest.mark.parametrize("argv, message", [
    (("credit", "a", "1e999"), "the amount credited"),
    (("credit", "a", "-5.00"), "the amount credited"),
    (("credit", "a", "1" * 40 + ".00"), "too large"),
    (("credit", "a", "0.00"), "more than $0.00"),
    (("timeout", "i", "-1"), "0 or more"),
    (("settle-after", "soon"), "seconds or 'evening'"),
])
def test_bad_values_are_one_line_exit_2(svc, database_url, cli, argv, message) -> None:
    ran = cli("bank", "--database-url", database_url, *argv)
    assert ran.code == 2 and message in ran.err and "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) == 1


def test_without_a_schema_it_says_to_upgrade(cli, tmp_path) -> None:
    ran = cli("bank", "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}", "show")
    assert ran.code == 2 and "payroute db upgrade" in ran.err
