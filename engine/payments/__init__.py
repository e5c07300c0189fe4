"""Moving the money: bank accounts (drawdowns, payment orders and the bank port come next)."""

__all__ = ["bank_accounts"]
