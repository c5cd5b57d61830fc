"""PartiQL's own error texts (reference 6.13), as ValidationException."""

from kvstore.errors import ValidationException

MALFORMED = "Statement wasn't well formed, can't be processed: "


def malformed(detail=""):
    """The not-well-formed envelope; with nothing after it for the faults DynamoDB gives no detail."""
    return ValidationException(MALFORMED + detail)


def at(message, token):
    return ValidationException(f"{message} at {token.position}")


def strip_expression_prefix(error):
    """An expression error of the generated request, in PartiQL's words (no ``Invalid XExpression: ``)."""
    message = error.message
    if message.startswith("Invalid ") and "Expression: " in message[:40]:
        return ValidationException(message.split("Expression: ", 1)[1])
    return error
