"""AWS Signature Version 4 verification, as DynamoDB checks it.

``kvstore serve`` always checks a request's signature *form* before it looks
at the body: a request without one is MissingAuthenticationTokenException, a
malformed, expired (clock skew over 15 minutes, on the engine's clock) or
future-dated one, or one scoped to another service or to a region DynamoDB
does not serve (``kvstore.regions``), gets DynamoDB's IncompleteSignatureException /
InvalidSignatureException (:func:`check_form`).  Without credentials that is
all (:class:`AnyKey`: any key and secret, like DynamoDB Local); with
credentials (``--credentials FILE``, :func:`load_keys`, or
``KVSTORE_ACCESS_KEY_ID`` / ``KVSTORE_SECRET_ACCESS_KEY``) the key must be
known and the signature right (:class:`SigV4Verifier`), and the caller's key
says which account's database it reaches and what it may do there
(``kvstore/server/accounts.py``, ``kvstore/server/policy.py``).

The canonical request, string to sign and signing key follow the SigV4
specification and are computed with ``hmac`` and ``hashlib`` only; tests check
them against botocore's signer.  Checks run in DynamoDB's order (missing
token, incomplete header, date format, expiry, signed Host, algorithm,
credential scope, key id, signature) and fail with its error codes and texts.
A signature covers the body bytes as sent, so a compressed body is verified
before it is decompressed.
"""

import calendar
import configparser
import hashlib
import hmac
import os
import re
import stat
import time
from time import time as _time
from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import quote

from kvstore import limits
from kvstore._core import remembered_form as _remembered_form
from kvstore.clock import SystemClock
from kvstore.regions import is_region
from kvstore.errors import (
    IncompleteSignatureException, InvalidSignatureException,
    MissingAuthenticationTokenException, UnrecognizedClientException,
)

__all__ = ["SigV4Verifier", "AnyKey", "AccessKey", "Caller", "check_form", "check_private", "load_keys",
           "load_credentials", "credentials_from_env", "signing_key", "canonical_request", "string_to_sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "dynamodb"                  # DynamoDB Streams clients sign as "dynamodb" too
MAX_SKEW_SECONDS = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# ------------------------------------------------------------------ credentials

class AccessKey:
    """One access key of a credentials file: its secret, the account it belongs to and what it may do.

    ``account`` is a 12-digit AWS account id (None: the server's default
    account, ``limits.ACCOUNT_ID``); ``user`` names the IAM user in
    AccessDeniedException messages; ``policy`` (a
    :class:`kvstore.server.policy.Policy`) limits the key to some actions
    and resources, None allows everything.
    """

    __slots__ = ("key_id", "secret", "account", "user", "policy")

    def __init__(self, key_id, secret, account=None, user=None, policy=None):
        self.key_id = key_id
        self.secret = secret
        self.account = account
        self.user = user or key_id
        self.policy = policy

    def user_arn(self, default_account=limits.ACCOUNT_ID):
        return f"arn:aws:iam::{self.account or default_account}:user/{self.user}"

    def __repr__(self):                 # never the secret
        return f"AccessKey({self.key_id!r}, account={self.account!r}, user={self.user!r})"


class Caller(NamedTuple):
    """Who sent a request: the access key (None when any key is accepted) and the region it signed for."""
    key: object
    key_id: str
    region: str


#: profile entries of a credentials file: AWS's own, and kvstore's three
_PROFILE_ENTRIES = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_account_id", "read_only",
                              "policy", "region", "output"})
_ACCOUNT_RE = re.compile(r"\d{12}\Z")


def check_private(path):
    """Refuse a credentials file that other users can read or change (as ssh refuses a private key).

    Raises ValueError naming the mode; POSIX only (elsewhere the file's ACLs decide).
    """
    if os.name != "posix":
        return
    mode = os.stat(path).st_mode
    if mode & 0o077:
        raise ValueError(f"{path} can be read or changed by other users (mode {stat.S_IMODE(mode):04o}); "
                         f"its secrets would not be secret: run chmod 600 {path}")


def load_keys(path, *, check_mode=True):
    """Access key id -> :class:`AccessKey` from a credentials file (format: docs/security.md).

    Either the AWS shared-credentials format (``[profile]`` sections with
    ``aws_access_key_id`` / ``aws_secret_access_key``, every profile counts;
    kvstore also reads ``aws_account_id``, ``read_only`` and ``policy``) or
    one ``KEY_ID SECRET`` (or ``KEY_ID:SECRET``) pair per line, ``#`` starting
    a comment.  The file must not be readable by other users
    (:func:`check_private`, unless ``check_mode`` is false).  Raises
    ValueError for a file without keys and for anything it does not understand.
    """
    from kvstore.server.policy import Policy, READ_ONLY
    if check_mode:
        check_private(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    keys = {}
    if any(line.strip().startswith("[") for line in text.splitlines()):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as e:
            raise ValueError(f"{path}: {e}") from None
        for section in parser.sections():
            entries = dict(parser.items(section))
            unknown = sorted(set(entries) - _PROFILE_ENTRIES)
            if unknown:
                raise ValueError(f"{path} [{section}]: unknown entries {', '.join(unknown)} "
                                 f"(kvstore reads {', '.join(sorted(_PROFILE_ENTRIES))})")
            key_id = (entries.get("aws_access_key_id") or "").strip()
            secret = (entries.get("aws_secret_access_key") or "").strip()
            if not key_id or not secret:
                raise ValueError(f"{path} [{section}]: aws_access_key_id and aws_secret_access_key are required")
            account = entries.get("aws_account_id")
            if account is not None:
                account = account.strip()
                if not _ACCOUNT_RE.match(account):
                    raise ValueError(f"{path} [{section}]: aws_account_id must be 12 digits, not {account!r}")
            try:
                read_only = parser.getboolean(section, "read_only", fallback=False)
            except ValueError:
                raise ValueError(f"{path} [{section}]: read_only must be true or false") from None
            policy = None
            if "policy" in entries:
                if read_only:
                    raise ValueError(f"{path} [{section}]: give read_only or policy, not both")
                try:
                    policy = Policy.from_json(entries["policy"])
                except ValueError as e:
                    raise ValueError(f"{path} [{section}]: policy: {e}") from None
            elif read_only:
                policy = READ_ONLY
            if key_id in keys:
                raise ValueError(f"{path} [{section}]: access key {key_id} appears twice")
            keys[key_id] = AccessKey(key_id, secret, account, section, policy)
    else:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(":", 1) if ":" in line and " " not in line else line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}: expected 'ACCESS_KEY_ID SECRET' per line, got {line!r}")
            keys[parts[0].strip()] = AccessKey(parts[0].strip(), parts[1].strip())
    if not keys:
        raise ValueError(f"{path}: no access key id / secret access key pair found")
    return keys


def load_credentials(path, *, check_mode=True):
    """Access key id -> secret of a credentials file (see :func:`load_keys`)."""
    return {key_id: key.secret for key_id, key in load_keys(path, check_mode=check_mode).items()}


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


_AMZ_DATES = {}                  # X-Amz-Date text -> its epoch seconds (clients repeat it within a second)


def _parse_amz_date(text):
    """Seconds since the epoch of an ISO-8601 basic-format time (``20240101T120000Z``), or None.

    Remembered per text: ``time.strptime`` costs ~5 us, more than the rest of a GetItem's
    request checks (bench/results/server.md)."""
    seconds = _AMZ_DATES.get(text)
    if seconds is not None:
        return seconds
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (text[:8] + text[9:15]).isdigit():
        return None
    try:
        seconds = float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None
    if len(_AMZ_DATES) >= 64:
        _AMZ_DATES.clear()
    _AMZ_DATES[text] = seconds
    return seconds


class SigV4Verifier:
    """Verify a request's ``Authorization`` header against known secrets.

    ``keys`` maps access key ids to secrets or :class:`AccessKey` s.
    ``authenticate(method, target, headers, body, now)`` returns the
    :class:`Caller`, or raises the error DynamoDB would send; ``verify`` the
    access key id only.  ``headers`` maps lower-case names to values
    (repeated headers joined with ``,``); ``target`` is the request target as
    received (path and query).  Time is ``clock()`` (``kvstore serve`` passes
    its engine's clock, ``kvstore.clock``, so tests move it), or ``now``.

    Everything up to the key lookup reads headers only, so a malformed,
    expired or mis-scoped signature is refused before the body is looked at.
    The signature is compared in constant time (``hmac.compare_digest``).
    """

    def __init__(self, keys, clock=None, max_skew=MAX_SKEW_SECONDS):
        self.keys = {key_id: key if isinstance(key, AccessKey) else AccessKey(key_id, key)
                     for key_id, key in dict(keys).items()}
        self.clock = SystemClock() if clock is None else clock
        self.max_skew = max_skew
        self._signing_keys = {}

    @property
    def secrets(self):
        return {key_id: key.secret for key_id, key in self.keys.items()}

    def _signing_key(self, secret, datestamp, region, service):
        cache_key = (secret, datestamp, region, service)
        key = self._signing_keys.get(cache_key)
        if key is None:
            if len(self._signing_keys) > 256:
                self._signing_keys.clear()
            key = self._signing_keys[cache_key] = signing_key(secret, datestamp, region, service)
        return key

    def verify(self, method, target, headers, body, now=None):
        """The access key id of a correctly signed request (see :meth:`authenticate`)."""
        return self.authenticate(method, target, headers, body, now).key_id

    def authenticate(self, method, target, headers, body, now=None):
        signed = check_form(headers, self.clock() if now is None else now, self.max_skew)
        key = self.keys.get(signed.key_id)
        if key is None:
            raise UnrecognizedClientException("The security token included in the request is invalid.")

        payload_hash = headers.get("x-amz-content-sha256") or (
            hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256)
        canonical = canonical_request(method, target, headers, signed.signed_headers, payload_hash)
        to_sign = string_to_sign(signed.amz_date, signed.scope, canonical)
        expected = hmac.new(self._signing_key(key.secret, signed.datestamp, signed.region, SERVICE),
                            to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode("ascii"), signed.signature.encode("utf-8", "replace")):
            raise InvalidSignatureException(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                f"for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{to_sign}'\n")
        return Caller(key, key.key_id, signed.region)


class AnyKey:
    """What ``kvstore serve`` checks without credentials, as DynamoDB Local does: a request must
    carry a well-formed, current SigV4 ``Authorization`` for DynamoDB, but any key and secret pass
    (there is nothing to verify the signature against).  Every caller is the default account."""

    def __init__(self, clock=None, max_skew=MAX_SKEW_SECONDS):
        self.clock = SystemClock() if clock is None else clock
        self.max_skew = max_skew

    def authenticate(self, method, target, headers, body, now=None):
        if now is None:
            clock = self.clock
            # SystemClock() is time.time(): called here without its Python frame (the hot path)
            now = _time() if clock.__class__ is SystemClock else clock()
        known = _remembered_form(_FORMS, headers, now, self.max_skew)
        if known is not None:
            return known[4]
        signed = check_form(headers, now, self.max_skew)
        return Caller(None, signed.key_id, signed.region)

    def verify(self, method, target, headers, body, now=None):
        return self.authenticate(method, target, headers, body, now).key_id


class SignedRequest(NamedTuple):
    key_id: str
    datestamp: str
    region: str
    scope: str                # date/region/service/aws4_request
    amz_date: str
    signed_headers: list
    signature: str


# Forms found valid, by the Authorization header up to ", Signature=" (key id, scope, signed
# headers): head -> (X-Amz-Date, Date, SignedRequest, request time, the Caller AnyKey answers).
# A client signs each request anew, but with the same key, scope and signed headers, and the
# same X-Amz-Date within a second: the parsing is done once per head and second, the expiry is
# checked every time.  An entry is used only when the request's X-Amz-Date and Date are the
# entry's (everything else the checks look at is in the head); a new second's request replaces
# its head's entry.  So the cache holds one entry per form a client signs with (per access key,
# region, day and signed header set), not one per second: keyed by the dates too, it gained an
# entry every second of traffic and took _MAX_FORMS seconds to fill (bench/results/rss.md).
# At most _MAX_FORMS entries (cleared when full, as forms are few); lookups are one dict get.
_FORMS = {}
_MAX_FORMS = 256


def check_form(headers, now, max_skew=MAX_SKEW_SECONDS):
    """The parts of a request's SigV4 ``Authorization``, checked in DynamoDB's order from the headers
    alone (missing token, incomplete header, date format, expiry, signed Host, algorithm, credential
    scope); raises DynamoDB's error for the first problem."""
    auth = headers.get("authorization", "").strip()
    # The signature is the last parameter (as every SDK writes it): the rest of the header decides
    # the other checks, and only the expiry can fail for a form already found valid.  A signature
    # without "," is read as the text after "Signature=", stripped, exactly as the full parse reads it.
    head, sep, signature = auth.rpartition(", Signature=")
    signature = signature.strip()           # as the full parse reads the parameter's value
    if sep and signature and "," not in signature:
        amz_date, http_date = headers.get("x-amz-date"), headers.get("date")
        known = _FORMS.get(head)
        if known is not None and known[0] == amz_date and known[1] == http_date:
            signed, request_time = known[2], known[3]
            if request_time < now - max_skew or request_time > now + max_skew:
                _check_time(signed.amz_date, request_time, now, max_skew)
            return SignedRequest(signed.key_id, signed.datestamp, signed.region, signed.scope,
                                 signed.amz_date, signed.signed_headers, signature)
        signed, request_time = _check_form(auth, headers, now, max_skew)
        if signed.signature == signature:
            if len(_FORMS) >= _MAX_FORMS and head not in _FORMS:
                _FORMS.clear()
            _FORMS[head] = (amz_date, http_date, signed, request_time, Caller(None, signed.key_id, signed.region))
        return signed
    return _check_form(auth, headers, now, max_skew)[0]


def _check_time(amz_date, request_time, now, max_skew):
    if request_time < now - max_skew:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than {_format_time(now - max_skew)} "
            f"({_format_time(now)} - {max_skew // 60:g} min.)")
    if request_time > now + max_skew:
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than {_format_time(now + max_skew)} "
            f"({_format_time(now)} + {max_skew // 60:g} min.)")


def _check_form(auth, headers, now, max_skew):
    """check_form's parse and checks, in DynamoDB's order: (SignedRequest, request time)."""
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
        except (TypeError, ValueError, IndexError, OverflowError):
            raise IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{http_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601") from None
        amz_date = _format_time(request_time)

    _check_time(amz_date, request_time, now, max_skew)

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
    if not is_region(region):           # an unknown region of a region's shape too ('eu-east-2')
        problems += f"Credential should be scoped to a valid region, not '{region}'. "
    if service != SERVICE:
        problems += f"Credential should be scoped to correct service: '{SERVICE}'. "
    if terminator != "aws4_request":
        problems += f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
    if datestamp != amz_date[:8]:
        problems += ("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                     f"from HTTP: '{datestamp}' != '{amz_date[:8]}', from '{amz_date}'.")
    if problems:            # each problem ends ". " as DynamoDB's do, the date one (always last) with "."
        raise InvalidSignatureException(problems)
    return SignedRequest(key_id, datestamp, region, "/".join(scope[1:]), amz_date, signed_headers,
                         params["Signature"]), request_time
