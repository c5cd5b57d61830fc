"""What the data layer reports, in the service's terms (the HTTP layer maps them to statuses).

The store never lets a database exception out for something a client caused:
it turns ``ConditionalCheckFailed`` into ``NotFound`` / ``VersionConflict`` /
``InvalidTransition`` and cancellation reasons into ``OutOfStock``.  Anything
else from the database is a server fault and surfaces as a 500.
"""


class ServiceError(Exception):
    """Base: ``code`` (stable, machine-readable), ``status`` (HTTP), ``details`` (JSON-able)."""

    code = "Error"
    status = 500

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ServiceError):
    code, status = "ValidationError", 400


class InvalidCursor(BadRequest):
    code = "InvalidCursor"


class UnknownProduct(BadRequest):
    code = "UnknownProduct"


class NotFound(ServiceError):
    code, status = "NotFound", 404


class AlreadyExists(ServiceError):
    code, status = "AlreadyExists", 409


class OutOfStock(ServiceError):
    """Some lines asked for more than is in stock; ``details["lines"]`` says which."""

    code, status = "OutOfStock", 409


class InvalidTransition(ServiceError):
    code, status = "InvalidTransition", 409


class IdempotencyMismatch(ServiceError):
    code, status = "IdempotencyKeyReused", 409


class VersionConflict(ServiceError):
    """The item changed since the version the client read (HTTP 412, If-Match failed)."""

    code, status = "VersionConflict", 412


class PreconditionRequired(ServiceError):
    code, status = "PreconditionRequired", 428


class Busy(ServiceError):
    """Contention did not clear within the retries; the client may retry (HTTP 503)."""

    code, status = "Busy", 503
