"""AWS Signature Version 4 verification, as DynamoDB checks it.

The server verifies signatures only when it has credentials (``--credentials``
or ``KVSTORE_ACCESS_KEY_ID`` / ``KVSTORE_SECRET_ACCESS_KEY``); without them it
accepts any request, like DynamoDB Local.  The canonical request, string to
sign and signing key follow the SigV4 specification and are computed with
``hmac`` and ``hashlib`` only; tests check them against botocore's signer.

Checks run in DynamoDB's order (missing token, incomplete header, date format,
expiry, signed Host, algorithm, credential scope, key id, signature) and fail
with its error codes and texts.  A signature covers the body bytes as sent, so
a compressed body is verified before it is decompressed.
"""

import calendar
import configparser
import hashlib
import hmac
import os
import time
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from kvstore.errors import (
    IncompleteSignatureException, InvalidSignatureException,
    MissingAuthenticationTokenException, UnrecognizedClientException,
)

__all__ = ["SigV4Verifier", "load_credentials", "credentials_from_env", "signing_key",
           "canonical_request", "string_to_sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "dynamodb"                  # DynamoDB Streams clients sign as "dynamodb" too
MAX_SKEW_SECONDS = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# ------------------------------------------------------------------ credentials

def load_credentials(path):
    """Access key id -> secret from a file.

    Either the AWS shared-credentials format (``[profile]`` sections with
    ``aws_access_key_id`` / ``aws_secret_access_key``; every profile counts) or
    one ``KEY_ID SECRET`` (or ``KEY_ID:SECRET``) pair per line; ``#`` starts a
    comment.  Raises ValueError when the file holds no pair.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    secrets = {}
    if any(line.strip().startswith("[") for line in text.splitlines()):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        for section in parser.sections():
            key_id = parser.get(section, "aws_access_key_id", fallback=None)
            secret = parser.get(section, "aws_secret_access_key", fallback=None)
            if key_id and secret:
                secrets[key_id.strip()] = secret.strip()
    else:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(":", 1) if ":" in line and " " not in line else line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}: expected 'ACCESS_KEY_ID SECRET' per line, got {line!r}")
            secrets[parts[0].strip()] = parts[1].strip()
    if not secrets:
        raise ValueError(f"{path}: no access key id / secret access key pair found")
    return secrets


def credentials_from_env(environ=os.environ):
    """``{KVSTORE_ACCESS_KEY_ID: KVSTORE_SECRET_ACCESS_KEY}``, or None when either is unset."""
    key_id = environ.get("KVSTORE_ACCESS_KEY_ID")
    secret = environ.get("KVSTORE_SECRET_ACCESS_KEY")
    if key_id and secret:
        return {key_id: secret}
    return None


# ------------------------------------------------------------------ the SigV4 pieces

def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, datestamp, region, service=SERVICE):
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    k = _hmac(("AWS4" + secret).encode("utf-8"), datestamp)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _normalize_path(path):
    """RFC 3986 dot-segment removal, as the SDKs do before signing."""
    if not path:
        return "/"
    out = []
    for segment in path.split("/"):
        if segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    normalized = "/".join(out)
    if not normalized.startswith("/"):
        normalized = "/" + normalized
    if path.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return normalized


def _canonical_query(query):
    """Sorted ``key=value`` pairs as received: SDKs send them already encoded in canonical form."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _trim(value):
    return " ".join(value.split())


def canonical_request(method, target, headers, signed_headers, payload_hash):
    """The canonical request: method, URI (each segment encoded twice, as for every service
    but S3), sorted query, ``name:value`` lines of the signed headers, their names, payload hash."""
    path, _, query = target.partition("?")
    lines = [method.upper(), quote(_normalize_path(path), safe="/~"), _canonical_query(query)]
    lines.extend(f"{name}:{_trim(headers.get(name, ''))}" for name in signed_headers)
    lines.append("")
    lines.append(";".join(signed_headers))
    lines.append(payload_hash)
    return "\n".join(lines)


def string_to_sign(amz_date, scope, canonical):
    return "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))


# ------------------------------------------------------------------ verification

def _format_time(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def _parse_amz_date(text):
    """Seconds since the epoch of an ISO-8601 basic-format time (``20240101T120000Z``), or None."""
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (text[:8] + text[9:15]).isdigit():
        return None
    try:
        return float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


class SigV4Verifier:
    """Verify a request's ``Authorization`` header against known secrets.

    ``verify(method, target, headers, body)`` returns the access key id, or
    raises the error DynamoDB would send.  ``headers`` maps lower-case names to
    values (repeated headers joined with ``,``); ``target`` is the request
    target as received (path and query).  ``clock`` is injectable for tests.
    """

    def __init__(self, secrets, clock=time.time, max_skew=MAX_SKEW_SECONDS):
        self.secrets = dict(secrets)
        self.clock = clock
        self.max_skew = max_skew
        self._keys = {}

    def _signing_key(self, secret, datestamp, region, service):
        cache_key = (secret, datestamp, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            if len(self._keys) > 256:
                self._keys.clear()
            key = self._keys[cache_key] = signing_key(secret, datestamp, region, service)
        return key

    def verify(self, method, target, headers, body):
        auth = headers.get("authorization", "").strip()
        if not auth.startswith("AWS4-"):
            raise MissingAuthenticationTokenException("Request is missing Authentication Token")
        algorithm, _, rest = auth.partition(" ")
        params = {}
        for part in rest.split(","):
            name, eq, value = part.strip().partition("=")
            if eq:
                params[name.strip()] = value.strip()
        amz_date = headers.get("x-amz-date")
        http_date = headers.get("date")
        problems = "".join(
            f"Authorization header requires '{name}' parameter. "
            for name in ("Credential", "Signature", "SignedHeaders") if not params.get(name))
        if not amz_date and not http_date:
            problems += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        if problems:
            raise IncompleteSignatureException(problems + "Authorization=" + auth)

        if amz_date:
            request_time = _parse_amz_date(amz_date)
            if request_time is None:
                raise IncompleteSignatureException(
                    f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601")
        else:
            try:
                request_time = parsedate_to_datetime(http_date).timestamp()
            except (TypeError, ValueError):
                raise IncompleteSignatureException(
                    f"Date must be in ISO-8601 'basic format'. Got '{http_date}'. "
                    "See http://en.wikipedia.org/wiki/ISO_8601") from None
            amz_date = _format_time(request_time)

        now = self.clock()
        if request_time < now - self.max_skew:
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than {_format_time(now - self.max_skew)} "
                f"({_format_time(now)} - 15 min.)")
        if request_time > now + self.max_skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than {_format_time(now + self.max_skew)} "
                f"({_format_time(now)} + 15 min.)")

        signed_headers = params["SignedHeaders"].lower().split(";")
        if "host" not in signed_headers:
            raise InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        if algorithm != ALGORITHM:
            raise IncompleteSignatureException(
                f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). ")

        credential = params["Credential"].rstrip("/")
        scope = credential.split("/")
        if len(scope) != 5:
            raise IncompleteSignatureException(
                "Credential must have exactly 5 slash-delimited elements, "
                f"e.g. keyid/date/region/service/term, got '{credential}'")
        key_id, datestamp, region, service, terminator = scope
        problems = ""
        if not region:
            problems += f"Credential should be scoped to a valid region, not '{region}'. "
        if service != SERVICE:
            problems += f"Credential should be scoped to correct service: '{SERVICE}'. "
        if terminator != "aws4_request":
            problems += f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        if datestamp != amz_date[:8]:
            problems += ("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                         f"from HTTP: '{datestamp}' != '{amz_date[:8]}', from '{amz_date}'.")
        if problems:
            raise InvalidSignatureException(problems.strip())

        secret = self.secrets.get(key_id)
        if secret is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")

        payload_hash = headers.get("x-amz-content-sha256") or (
            hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256)
        canonical = canonical_request(method, target, headers, signed_headers, payload_hash)
        to_sign = string_to_sign(amz_date, "/".join(scope[1:]), canonical)
        expected = hmac.new(self._signing_key(secret, datestamp, region, service),
                            to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params["Signature"]):
            raise InvalidSignatureException(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                f"for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{to_sign}'\n")
        return key_id
