"""The machines that run a workflow, pure: ``(state, command, now) -> new state + effects``.

:mod:`~engine.runtime.instance` is the workflow instance's state machine
(start, respond, manager actions, eligibility, reminders due);
:mod:`~engine.runtime.calendar` counts business days in a company's time zone;
:mod:`~engine.runtime.funds` is the money after authorization (the drawdown and
each payment order, with the bank's events applied idempotently, FLOW-9);
:mod:`~engine.runtime.arrival` says in words why an instance reached a step, from the route it
recorded (an inbox row's reason); :mod:`~engine.runtime.step_insights` counts how each response
step performs over many instances (visits, times to respond, overdue rate, rejections).
Nothing here touches a database: :mod:`engine.service` loads state, runs a
machine and writes what it returns in one transaction.
"""

__all__ = ["instance", "calendar", "funds", "arrival", "step_insights"]
