"""The machines that run a workflow, pure: ``(state, command, now) -> new state + effects``.

:mod:`~engine.runtime.instance` is the workflow instance's state machine
(start, respond, manager actions, eligibility, reminders due);
:mod:`~engine.runtime.calendar` counts business days in a company's time zone;
:mod:`~engine.runtime.funds` is the money after authorization (the drawdown and
each payment order, with the bank's events applied idempotently, FLOW-9).
Nothing here touches a database: :mod:`engine.service` loads state, runs a
machine and writes what it returns in one transaction.
"""

__all__ = ["instance", "calendar", "funds"]
