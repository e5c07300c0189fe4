"""The machines that run a workflow, pure: ``(state, command, now) -> new state + effects``.

:mod:`~engine.runtime.instance` is the workflow instance's state machine
(start, respond, manager actions, eligibility, reminders due);
:mod:`~engine.runtime.calendar` counts business days in a company's time zone.
The disbursement's and each payment order's machines come with the money.
Nothing here touches a database: :mod:`engine.service` loads state, runs a
machine and writes what it returns in one transaction.
"""

__all__ = ["instance", "calendar"]
