"""Moving the money: bank accounts (:mod:`~engine.payments.bank_accounts`), the numbers users enter for
them (:mod:`~engine.payments.account_numbers`, BANK-7/BANK-8) and the banks' calendar with its 16:00
cut-off (:mod:`~engine.payments.bank_calendar`, FLOW-2); drawdowns, payment orders and the bank port
come next."""

__all__ = ["account_numbers", "bank_accounts", "bank_calendar"]
