"""The HTTP resources, one blueprint each: ``health`` (``GET /health``, no token), ``check``
(``POST /v1/check``) and ``evaluate`` (``POST /v1/evaluate``); ``models`` holds the
request and response models they share, from which the OpenAPI document is generated.

Views stay thin: parse (a pydantic model), one engine call, render.
"""

__all__ = ["check", "evaluate", "health", "models"]
