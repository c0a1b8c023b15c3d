"""The shared HTTP kit: one FastAPI app per service, built from its operation table."""

from g3n_kit.http.app import DbProvider, StatProvider, create_app, envelope_response
from g3n_kit.http.middleware import CORRELATION_HEADER, RequestContextMiddleware

__all__ = [
    "CORRELATION_HEADER",
    "DbProvider",
    "RequestContextMiddleware",
    "StatProvider",
    "create_app",
    "envelope_response",
]
