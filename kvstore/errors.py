"""One exception class per DynamoDB error code.

Every error raised by kvstore carries the DynamoDB ``code``, the ``message``
DynamoDB would send and the HTTP ``status``, plus a botocore-shaped
``.response`` so code written for boto3 (``e.response["Error"]["Code"]``) works
unchanged against the embedded API.  Only the wire layer turns these into JSON
bodies (see ``kvstore.server.wire``).
"""

_CORAL_SERVICE = "com.amazon.coral.service#"
_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"


class DynamoDBError(Exception):
    """Base of every DynamoDB error: ``code``, ``message``, ``status``, ``.response``."""

    code = "InternalServerError"
    status = 400
    namespace = _DYNAMODB
    #: name of the message member in the wire body ("message" for most errors).
    message_member = "message"
    retryable = False

    def __init__(self, message="", **extra):
        super().__init__(message)
        self.message = message
        #: extra top-level members of the error body (``Item``, ``CancellationReasons``).
        self.extra = extra

    @property
    def wire_type(self):
        return self.namespace + self.code

    @property
    def response(self):
        """The dict botocore's ClientError carries, built the same way."""
        body = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "RetryAttempts": 0},
            "message": self.message,
        }
        body.update(self.extra)
        return body

    @property
    def operation_name(self):
        return getattr(self, "_operation_name", None)

    def __str__(self):
        op = self.operation_name
        if op:
            return f"An error occurred ({self.code}) when calling the {op} operation: {self.message}"
        return f"{self.code}: {self.message}" if self.message else self.code

    def __reduce__(self):
        return (_rebuild, (self.code, self.message, self.extra))


class ParamValidationError(Exception):
    """boto3's client-side check of a call's parameters failed (``kvstore.params``): not a DynamoDB error.

    The message is botocore's, ``Parameter validation failed:`` and one line per
    problem; ``kwargs["report"]`` holds those lines, as botocore's error does.
    Raised as a class that also derives from ``botocore.exceptions.ParamValidationError``
    when botocore is installed (:func:`param_validation_error`).
    """

    fmt = "Parameter validation failed:\n{report}"

    def __init__(self, **kwargs):
        Exception.__init__(self, self.fmt.format(**kwargs))
        self.kwargs = kwargs

    def __reduce__(self):
        return (_param_error, (self.kwargs.get("report", ""),))


_PARAM_ERROR = None


def param_validation_error(report):
    """A ParamValidationError for ``report``, catchable as botocore's too when botocore is importable."""
    global _PARAM_ERROR
    if _PARAM_ERROR is None:
        try:
            from botocore.exceptions import ParamValidationError as boto
        except ImportError:
            _PARAM_ERROR = ParamValidationError
        else:
            _PARAM_ERROR = type("ParamValidationError", (ParamValidationError, boto), {
                "__module__": __name__, "__qualname__": "ParamValidationError",
                "__doc__": ParamValidationError.__doc__, "__init__": ParamValidationError.__init__,
                "__reduce__": ParamValidationError.__reduce__})
    return _PARAM_ERROR(report=report)


def _param_error(report):
    return param_validation_error(report)


def _rebuild(code, message, extra):
    return ERRORS_BY_CODE[code](message, **extra)


class ClientError(DynamoDBError):
    """The base of every concrete error, so ``except kvstore.errors.ClientError`` reads like botocore code."""


def _define(name, status=400, namespace=_DYNAMODB, retryable=False, message_member="message", base=ClientError):
    cls = type(name, (base,), {
        "code": name, "status": status, "namespace": namespace,
        "retryable": retryable, "message_member": message_member,
        "__doc__": f"DynamoDB's ``{name}`` (HTTP {status}).",
        "__module__": __name__,
    })
    return cls


ValidationException = _define("ValidationException", namespace="com.amazon.coral.validate#")
SerializationException = _define("SerializationException", namespace=_CORAL_SERVICE, message_member="Message")
UnknownOperationException = _define("UnknownOperationException", namespace=_CORAL_SERVICE)
ResourceNotFoundException = _define("ResourceNotFoundException")
ResourceInUseException = _define("ResourceInUseException")
ConditionalCheckFailedException = _define("ConditionalCheckFailedException")
TransactionCanceledException = _define("TransactionCanceledException", message_member="Message")
TransactionConflictException = _define("TransactionConflictException")
TransactionInProgressException = _define("TransactionInProgressException")
IdempotentParameterMismatchException = _define("IdempotentParameterMismatchException")
ItemCollectionSizeLimitExceededException = _define("ItemCollectionSizeLimitExceededException")
LimitExceededException = _define("LimitExceededException")
ProvisionedThroughputExceededException = _define("ProvisionedThroughputExceededException", retryable=True)
ThrottlingException = _define("ThrottlingException", retryable=True)
RequestLimitExceeded = _define("RequestLimitExceeded", retryable=True)
DuplicateItemException = _define("DuplicateItemException")
TableNotFoundException = _define("TableNotFoundException")
TableAlreadyExistsException = _define("TableAlreadyExistsException")
TableInUseException = _define("TableInUseException")
BackupNotFoundException = _define("BackupNotFoundException")
BackupInUseException = _define("BackupInUseException")
PointInTimeRecoveryUnavailableException = _define("PointInTimeRecoveryUnavailableException")
InvalidRestoreTimeException = _define("InvalidRestoreTimeException")
ContinuousBackupsUnavailableException = _define("ContinuousBackupsUnavailableException")
ExportNotFoundException = _define("ExportNotFoundException")
ImportNotFoundException = _define("ImportNotFoundException")
ExpiredIteratorException = _define("ExpiredIteratorException")
TrimmedDataAccessException = _define("TrimmedDataAccessException")
AccessDeniedException = _define("AccessDeniedException", namespace=_CORAL_SERVICE)
MissingAuthenticationTokenException = _define("MissingAuthenticationTokenException", namespace=_CORAL_SERVICE)
IncompleteSignatureException = _define("IncompleteSignatureException", namespace=_CORAL_SERVICE)
InvalidSignatureException = _define("InvalidSignatureException", namespace=_CORAL_SERVICE)
UnrecognizedClientException = _define("UnrecognizedClientException", namespace=_CORAL_SERVICE)
InternalServerError = _define("InternalServerError", status=500, namespace=_CORAL_SERVICE, retryable=True)
ServiceUnavailable = _define("ServiceUnavailable", status=503, namespace=_CORAL_SERVICE, retryable=True)

ERRORS_BY_CODE = {
    cls.code: cls for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, ClientError) and cls is not ClientError
}


#: a violation's value text for the form without a value, ``Value at 'path'`` (what DynamoDB says for
#: some members, e.g. Query's ``Limit``)
NO_VALUE_SHOWN = object()


def constraint_error(violations):
    """``N validation error(s) detected: Value 'v' at 'path' failed to satisfy constraint: c; ...``.

    ``violations`` is a list of ``(value_text, path, constraint)``; ``value_text``
    None renders DynamoDB's ``Value null`` form, :data:`NO_VALUE_SHOWN` its ``Value at``
    form, and any string (the empty one too: ``Value '' at``) is quoted.
    """
    parts = []
    for value, path, constraint in violations:
        if value is None:
            shown = "Value null"
        elif value is NO_VALUE_SHOWN:
            shown = "Value"
        else:
            shown = f"Value '{value}'"
        parts.append(f"{shown} at '{path}' failed to satisfy constraint: {constraint}")
    n = len(parts)
    return ValidationException(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts))


def invalid_parameter(detail):
    """``One or more parameter values were invalid: <detail>`` (DynamoDB's common prefix)."""
    return ValidationException("One or more parameter values were invalid: " + detail)

