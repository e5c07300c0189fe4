"""Moving the money: authorizing a disbursement (:mod:`~engine.payments.authorization`, AUTH-2..AUTH-11:
the drawdown and its payment orders), bank accounts (:mod:`~engine.payments.bank_accounts`; after they are added,
:mod:`~engine.payments.account_lifecycle`, with BANK-3's machine in :mod:`~engine.payments.verification`;
the payees' accounts in :mod:`~engine.payments.beneficiaries`), the numbers users enter for
them (:mod:`~engine.payments.account_numbers`, BANK-7/BANK-8), the banks' calendar with its 16:00
cut-off (:mod:`~engine.payments.bank_calendar`, FLOW-2), the bank port every movement goes through
(:mod:`~engine.payments.bank`, FLOW-9) and the one bank shipped behind it, deterministic and
scriptable (:mod:`~engine.payments.simulated_bank`, ROLL-3), kept in the database so every process
shares it (:mod:`~engine.payments.stored_bank`); after authorization, bank instructions queued in the
outbox (:mod:`~engine.payments.instructions`), submitted by the worker (:mod:`~engine.payments.dispatch`)
and the bank's answers applied (:mod:`~engine.payments.settlement`, FLOW-3..FLOW-9); a failed payment
re-issued (:mod:`~engine.payments.reissue`, FLOW-8); a funding account's test drawdown
(:mod:`~engine.payments.test_drawdowns`, ROLL-5); and where the money stands (:mod:`~engine.payments.funds_queries`)."""

__all__ = ["account_lifecycle", "account_numbers", "authorization", "bank", "bank_accounts", "bank_calendar", "beneficiaries",
           "dispatch", "funds_queries", "instructions", "reissue", "settlement", "simulated_bank", "stored_bank", "test_drawdowns",
           "verification"]
