"""PartiQL's own error texts (reference 6.13), as ValidationException."""

from kvstore.errors import ValidationException

MALFORMED = "Statement wasn't well formed, can't be processed: "


def malformed(detail=""):
    """The not-well-formed envelope; with nothing after it for the faults DynamoDB gives no detail."""
    return ValidationException(MALFORMED + detail)


def at(message, token):
    return ValidationException(f"{message} at {token.position}")
