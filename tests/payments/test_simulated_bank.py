"""The simulated bank (ROLL-3) driving the funds machine: balances, the cut-off, failures, retries."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine.payments.bank import BankRefused, BankTimeout, Instruction
from engine.payments.simulated_bank import Book, SimulatedBank
from engine.runtime import funds
from engine.runtime.funds import Funds, Payment, SubmitDrawdown, SubmitPaymentOrder

NY = ZoneInfo("America/New_York")
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=NY)


def bank(funding: str = "500000.00") -> SimulatedBank:
    b = SimulatedBank()
    b.open_account("funding", funding)
    b.open_account("deposit")
    b.open_account("acme")
    b.open_account("riverside")
    return b


def new_ids():
    counter = itertools.count(1)
    return lambda kind: f"{kind}-{next(counter)}"


def instruction(effect: SubmitDrawdown | SubmitPaymentOrder) -> Instruction:
    if isinstance(effect, SubmitDrawdown):
        return Instruction(effect.drawdown_id, "drawdown", effect.funding_account, effect.deposit_account,
                           effect.amount)
    return Instruction(effect.order_id, "payment_order", effect.deposit_account, effect.beneficiary_account,
                       effect.amount)


class Worker:
    """What `payroute worker` will do: send instructions when they are made, apply the bank's final answers."""

    def __init__(self, b: SimulatedBank, step: funds.Transition, at: datetime, new_id) -> None:
        self.bank, self.state, self.new_id = b, step.state, new_id
        self.outstanding: list[tuple[str, str]] = []
        self._send(step.effects, at)

    def _send(self, effects, at: datetime) -> None:
        for effect in effects:
            if isinstance(effect, (SubmitDrawdown, SubmitPaymentOrder)):
                order = instruction(effect)
                self.bank.submit(order, at=at)
                self.outstanding.append((order.id, order.kind))

    def tick(self, at: datetime) -> Funds:
        waiting, self.outstanding = self.outstanding, []
        for instruction_id, kind in waiting:
            event = self.bank.status(instruction_id, at=at).event(kind)  # type: ignore[arg-type]
            if event is None:
                self.outstanding.append((instruction_id, kind))
                continue
            step = funds.apply(self.state, event, new_id=self.new_id)
            self.state = step.state
            self._send(step.effects, at)
        return self.state


def authorized(new_id) -> funds.Transition:
    state = Funds("Draft", (Payment("inv-1", "Acme", Decimal("120000.00"), "acme"),
                            Payment("inv-2", "Riverside", Decimal("5000.50"), "riverside")), "funding", "deposit")
    return funds.authorize(state, new_id=new_id)


@pytest.mark.rule("ROLL-3", "FLOW-1", "FLOW-4")
def test_the_whole_flow_moves_exactly_the_aggregate_and_nothing_before_settlement() -> None:
    b, new_id = bank(), new_ids()
    worker = Worker(b, authorized(new_id), TUESDAY_NOON, new_id)
    state = worker.tick(TUESDAY_NOON.replace(hour=17, minute=59))
    assert state.drawdown_status == "Funding Requested" and b.balance("funding") == Decimal("500000.00")
    state = worker.tick(TUESDAY_NOON.replace(hour=18))
    assert state.drawdown_status == "Funding Completed"
    # the orders went out after the cut-off (FLOW-2): they settle the next banking day
    assert [p.status for p in state.payments] == ["Requested", "Requested"]
    assert b.balance("deposit") == Decimal("125000.50")
    state = worker.tick(TUESDAY_NOON.replace(day=2, hour=18))
    assert [p.status for p in state.payments] == ["Completed", "Completed"]
    assert b.balance("funding") == Decimal("374999.50") and b.balance("deposit") == Decimal("0.00")
    assert (b.balance("acme"), b.balance("riverside")) == (Decimal("120000.00"), Decimal("5000.50"))


@pytest.mark.rule("FLOW-2")
def test_flow_2_after_the_cut_off_the_bank_acts_the_next_business_day() -> None:
    b = bank()
    late = datetime(2026, 12, 4, 16, 30, tzinfo=NY)  # Friday after 16:00
    receipt = b.submit(Instruction("d-1", "drawdown", "funding", "deposit", Decimal("10.00")), at=late)
    assert receipt.request_date.isoformat() == "2026-12-07"
    assert b.status("d-1", at=late.replace(hour=19)).status == "pending"
    assert b.status("d-1", at=datetime(2026, 12, 7, 17, 59, tzinfo=NY)).status == "pending"
    assert b.status("d-1", at=datetime(2026, 12, 7, 18, 0, tzinfo=NY)).status == "completed"


@pytest.mark.rule("FLOW-3", "FLOW-6")
def test_flow_3_a_drawdown_larger_than_the_balance_is_rejected_and_nothing_is_paid() -> None:
    b, new_id = bank(funding="1000.00"), new_ids()
    worker = Worker(b, authorized(new_id), TUESDAY_NOON, new_id)
    state = worker.tick(TUESDAY_NOON.replace(hour=18))
    assert worker.tick(TUESDAY_NOON.replace(day=3, hour=18)) == state and not worker.outstanding
    assert state.drawdown_status == "Funding Failed" and state.drawdown_reason == "insufficient funds"
    assert [p.status for p in state.payments] == ["Not Initiated", "Not Initiated"]
    assert b.balance("funding") == Decimal("1000.00") and b.balance("acme") == Decimal("0.00")


@pytest.mark.rule("FLOW-5", "FLOW-7")
def test_flow_5_a_closed_beneficiary_fails_its_payment_only_and_the_funds_stay_in_deposit() -> None:
    b, new_id = bank(), new_ids()
    b.close_account("riverside")
    worker = Worker(b, authorized(new_id), TUESDAY_NOON, new_id)
    worker.tick(TUESDAY_NOON.replace(hour=18))
    state = worker.tick(TUESDAY_NOON.replace(day=2, hour=18))
    assert [p.status for p in state.payments] == ["Completed", "Failed"]
    assert state.payments[1].orders[0].reason == "the account is closed"
    assert b.balance("deposit") == Decimal("5000.50")  # FLOW-7


@pytest.mark.rule("FLOW-9")
def test_flow_9_a_timed_out_instruction_is_resent_with_its_id_and_taken_once() -> None:
    b = bank()
    b.book.timeouts["d-1"] = 2
    order = Instruction("d-1", "drawdown", "funding", "deposit", Decimal("10.00"))
    for _ in range(2):
        with pytest.raises(BankTimeout):
            b.submit(order, at=TUESDAY_NOON)
    first = b.submit(order, at=TUESDAY_NOON)
    again = b.submit(order, at=TUESDAY_NOON + timedelta(hours=1))  # a resend after a crash
    assert first == again and len(b.book.taken) == 1
    assert b.status("d-1", at=TUESDAY_NOON.replace(hour=18)).status == "completed"
    assert b.balance("deposit") == Decimal("10.00")  # moved once
    with pytest.raises(BankRefused, match="other content"):
        b.submit(Instruction("d-1", "drawdown", "funding", "deposit", Decimal("11.00")), at=TUESDAY_NOON)


def test_a_scripted_failure_and_unknown_accounts() -> None:
    b = bank()
    b.book.failures["p-1"] = "beneficiary bank returned R03"
    b.submit(Instruction("p-1", "payment_order", "funding", "acme", Decimal("1.00")), at=TUESDAY_NOON)
    status = b.status("p-1", at=TUESDAY_NOON.replace(hour=18))
    assert (status.status, status.reason) == ("failed", "beneficiary bank returned R03")
    assert status.event("payment_order") == funds.OrderFailed("p-1", "beneficiary bank returned R03")
    with pytest.raises(BankRefused, match="no account"):
        b.submit(Instruction("p-2", "payment_order", "funding", "nobody", Decimal("1.00")), at=TUESDAY_NOON)
    with pytest.raises(BankRefused, match="cents"):
        b.submit(Instruction("p-3", "payment_order", "funding", "acme", Decimal("1.001")), at=TUESDAY_NOON)


def test_the_book_round_trips_as_data_so_processes_can_share_it() -> None:
    b = bank()
    b.book.timeouts["x"] = 1
    b.submit(Instruction("d-1", "drawdown", "funding", "deposit", Decimal("10.00")), at=TUESDAY_NOON)
    b.status("d-1", at=TUESDAY_NOON.replace(hour=18))
    data = b.book.to_data()
    again = Book.from_data(data)
    assert again.to_data() == data and again.accounts["deposit"].balance == Decimal("10.00")
