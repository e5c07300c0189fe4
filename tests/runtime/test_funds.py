"""The money after authorization (ST-3..ST-6, FLOW-1..FLOW-9) as a pure machine: examples and properties."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DomainError
from engine.runtime import funds
from engine.runtime.funds import (
    Changed,
    DrawdownRejected,
    DrawdownSettled,
    Funds,
    Ignored,
    Notify,
    OrderCompleted,
    OrderFailed,
    Payment,
    PaymentCompletedEffect,
    ReleaseInvoices,
    SubmitDrawdown,
    SubmitPaymentOrder,
)


def ids():
    counter = itertools.count(1)
    return lambda kind: f"{kind}-{next(counter)}"


def draft(*amounts: str) -> Funds:
    return Funds("Draft", tuple(Payment(f"inv-{i}", f"payee-{i}", Decimal(a), f"ben-{i}")
                                for i, a in enumerate(amounts, 1)), "funding-1", "deposit-1")


@pytest.mark.rule("FLOW-1")
def test_flow_1_authorize_requests_one_drawdown_for_exactly_the_aggregate() -> None:
    step = funds.authorize(draft("100.10", "0.01", "2500.00"), new_id=ids())
    assert step.state.drawdown_status == "Funding Requested" and step.state.drawdown_id == "drawdown-1"
    assert step.effects[1] == SubmitDrawdown("drawdown-1", "funding-1", "deposit-1", Decimal("2600.11"))
    assert [p.status for p in step.state.payments] == ["Not Initiated"] * 3
    with pytest.raises(DomainError) as refused:
        funds.authorize(step.state, new_id=ids())
    assert (refused.value.code, refused.value.rule) == ("invalid_state", "AUTH-11")


@pytest.mark.rule("FLOW-4")
def test_flow_4_a_settled_drawdown_sends_one_order_per_payment_summing_to_the_drawdown() -> None:
    new_id = ids()
    requested = funds.authorize(draft("100.10", "0.01"), new_id=new_id).state
    step = funds.apply(requested, DrawdownSettled("drawdown-1"), new_id=new_id)
    assert step.state.drawdown_status == "Funding Completed"
    sent = [e for e in step.effects if isinstance(e, SubmitPaymentOrder)]
    assert [(e.invoice_id, e.beneficiary_account, e.amount) for e in sent] == \
        [("inv-1", "ben-1", Decimal("100.10")), ("inv-2", "ben-2", Decimal("0.01"))]
    assert sum(e.amount for e in sent) == requested.aggregate
    assert [p.status for p in step.state.payments] == ["Requested", "Requested"]


@pytest.mark.rule("FLOW-6")
def test_flow_6_a_rejected_drawdown_sends_nothing_and_releases_the_invoices() -> None:
    new_id = ids()
    requested = funds.authorize(draft("10.00", "20.00"), new_id=new_id).state
    step = funds.apply(requested, DrawdownRejected("drawdown-1", "insufficient funds"), new_id=new_id)
    assert step.state.drawdown_status == "Funding Failed" and step.state.drawdown_reason == "insufficient funds"
    assert [p.status for p in step.state.payments] == ["Not Initiated", "Not Initiated"]
    assert ReleaseInvoices(("inv-1", "inv-2")) in step.effects
    assert Notify("funding_failed", "insufficient funds") in step.effects
    assert not any(isinstance(e, SubmitPaymentOrder) for e in step.effects)
    # ST-4: final — a late "settled" is recorded and ignored (FLOW-9)
    late = funds.apply(step.state, DrawdownSettled("drawdown-1"), new_id=new_id)
    assert late.state == step.state and isinstance(late.effects[0], Ignored) and not late.effects[0].duplicate


@pytest.mark.rule("FLOW-5")
def test_flow_5_each_order_completes_or_fails_on_its_own_and_dsb_14_completion_pays_the_invoice() -> None:
    new_id = ids()
    state = funds.authorize(draft("10.00", "20.00"), new_id=new_id).state
    state = funds.apply(state, DrawdownSettled("drawdown-1"), new_id=new_id).state
    first, second = (p.orders[0].id for p in state.payments)
    done = funds.apply(state, OrderCompleted(first), new_id=new_id)
    assert PaymentCompletedEffect("inv-1", Decimal("10.00")) in done.effects
    failed = funds.apply(done.state, OrderFailed(second, "account closed"), new_id=new_id)
    assert [p.status for p in failed.state.payments] == ["Completed", "Failed"]
    assert Notify("payment_failed", "account closed", "inv-2") in failed.effects


@pytest.mark.rule("FLOW-8")
def test_flow_8_a_failed_payment_is_reissued_as_a_new_order_and_the_failed_one_stays_failed() -> None:
    new_id = ids()
    state = funds.authorize(draft("10.00"), new_id=new_id).state
    state = funds.apply(state, DrawdownSettled("drawdown-1"), new_id=new_id).state
    failed_id = state.payments[0].orders[0].id
    state = funds.apply(state, OrderFailed(failed_id, "account closed"), new_id=new_id).state
    step = funds.reissue(state, "inv-1", beneficiary_account="ben-new", new_id=new_id)
    payment = step.state.payments[0]
    assert [o.status for o in payment.orders] == ["Failed", "Requested"] and payment.status == "Requested"
    assert payment.orders[1].reissue_of == failed_id and payment.orders[1].beneficiary_account == "ben-new"
    assert isinstance(step.effects[1], SubmitPaymentOrder) and step.effects[1].beneficiary_account == "ben-new"
    with pytest.raises(DomainError) as refused:
        funds.reissue(step.state, "inv-1", beneficiary_account="ben-new", new_id=new_id)
    assert refused.value.rule == "FLOW-8"
    with pytest.raises(DomainError) as unknown:
        funds.reissue(step.state, "inv-9", beneficiary_account="ben-new", new_id=new_id)
    assert unknown.value.code == "not_found"


@pytest.mark.rule("FLOW-9")
def test_flow_9_a_repeated_event_is_a_no_op_and_a_stranger_event_is_ignored() -> None:
    new_id = ids()
    state = funds.authorize(draft("10.00"), new_id=new_id).state
    settled = funds.apply(state, DrawdownSettled("drawdown-1"), new_id=new_id).state
    again = funds.apply(settled, DrawdownSettled("drawdown-1"), new_id=new_id)
    assert again.state == settled and again.effects == (Ignored("DrawdownSettled", again.effects[0].reason, True),)
    for stranger in (DrawdownSettled("drawdown-9"), OrderCompleted("payment_order-99")):
        step = funds.apply(settled, stranger, new_id=new_id)
        assert step.state == settled and isinstance(step.effects[0], Ignored) and not step.effects[0].duplicate


# ---------------------------------------------------------------- properties

events = st.lists(st.tuples(st.sampled_from(["settle", "reject", "complete", "fail", "reissue"]),
                            st.integers(min_value=0, max_value=3)), max_size=25)
amounts = st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
                   min_size=1, max_size=4)


@settings(max_examples=300)
@given(amounts, events)
def test_any_sequence_of_bank_events_keeps_the_money_invariants(values, script) -> None:
    new_id = ids()
    state = funds.authorize(draft(*(str(v) for v in values)), new_id=new_id).state
    aggregate = state.aggregate
    for kind, n in script:
        before = state
        order_ids = [o.id for p in state.payments for o in p.orders]
        if kind == "settle":
            event = DrawdownSettled(state.drawdown_id or "")
        elif kind == "reject":
            event = DrawdownRejected(state.drawdown_id or "", "insufficient funds")
        elif kind == "reissue":
            payment = state.payments[n % len(state.payments)]
            if payment.status == "Failed":
                state = funds.reissue(state, payment.invoice_id, beneficiary_account="ben-x", new_id=new_id).state
            continue
        else:
            if not order_ids:
                continue
            order = order_ids[n % len(order_ids)]
            event = OrderCompleted(order) if kind == "complete" else OrderFailed(order, "closed")
        step = funds.apply(state, event, new_id=new_id)
        state = step.state
        ignored = [e for e in step.effects if isinstance(e, Ignored)]
        assert (state == before) == bool(ignored)  # FLOW-9: an event either applies or is ignored whole
        # ST-4: a final drawdown never moves
        if before.drawdown_status in funds.FINAL_DRAWDOWN:
            assert state.drawdown_status == before.drawdown_status
        # ST-6: a final order never moves; orders are never removed
        for p_before, p_after in zip(before.payments, state.payments):
            assert [o.id for o in p_after.orders][:len(p_before.orders)] == [o.id for o in p_before.orders]
            for o_before, o_after in zip(p_before.orders, p_after.orders):
                if o_before.status in funds.FINAL_ORDER:
                    assert o_after == o_before
        if isinstance(step.effects[0], Changed) and step.effects[0].action == "funding_completed":
            assert sum(o.amount for p in state.payments for o in p.orders) == aggregate  # FLOW-4
    if state.drawdown_status != "Funding Completed":
        assert all(not p.orders for p in state.payments)  # FLOW-6: no order without a settled drawdown
    assert state.aggregate == aggregate  # the amounts never change after authorization (AUTH-12)
