"""The HTTP resources, one blueprint each: ``health`` (``GET /health``, no token), ``check``
(``POST /v1/check``) and ``evaluate`` (``POST /v1/evaluate``), ``disbursements`` (disbursements
and drafts under ``/v1/companies/{company_id}/``), ``workflow`` (a disbursement's workflow
actions and history), ``audit`` (``GET /v1/audit/verify``); ``models`` holds the request and
response models they share, ``disbursement_models`` the JSON of disbursements and workflows,
``common`` the /v1 conventions; the OpenAPI document is generated from them.

Views stay thin: parse (a pydantic model), one engine call, render.
"""

__all__ = ["audit", "check", "common", "disbursement_models", "disbursements", "evaluate", "health", "models",
           "workflow"]
