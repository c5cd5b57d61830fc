"""SigV4 verification: the pieces match botocore's signer; the server rejects what DynamoDB rejects."""

import json
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import given, settings, strategies as st

from kvstore.server import auth
from kvstore.server.app import ServerThread
from kvstore.server.handler import RequestHandler

KEY_ID, SECRET = "AKIDKVSTORE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def signed(body=b"{}", url="http://127.0.0.1:8000/", headers=None, key_id=KEY_ID, secret=SECRET,
           region="us-east-1", service="dynamodb"):
    """(target, lower-case headers, body) of a request signed by botocore."""
    h = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    h.update(headers or {})
    request = AWSRequest(method="POST", url=url, data=body, headers=h)
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    prepared = request.prepare()
    out = {k.lower(): v for k, v in prepared.headers.items()}
    out.setdefault("host", url.split("/")[2])
    path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
    return "/" + path, out, body


def test_signing_key_matches_the_aws_documentation_example():
    # the example of the SigV4 documentation ("Deriving the signing key")
    key = auth.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_a_botocore_signature_verifies():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    assert verifier.verify("POST", target, headers, body) == KEY_ID


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=64),
    path=st.lists(st.text(alphabet="abc-_.~ %/é", min_size=1, max_size=6), max_size=3),
    query=st.lists(st.tuples(st.text(alphabet="abXY-_.~ =+", max_size=4), st.text(alphabet="ab12 -_.~+", max_size=4)),
                   max_size=3),
    extra=st.text(alphabet="ab  \t1", max_size=8),
)
def test_botocore_signatures_verify_for_any_path_query_body_and_header(body, path, query, extra):
    from urllib.parse import quote, urlencode
    url = "http://127.0.0.1:8000/" + "/".join(quote(p, safe="") for p in path)
    if query:
        url += "?" + urlencode(query)
    headers = {"X-Custom": extra} if extra.strip() else {}
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    _, h, b = signed(body, url, headers)
    target = "/" + url.split("/", 3)[3]
    assert verifier.verify("POST", target, h, b) == KEY_ID


def test_tampered_body_is_rejected():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, _ = signed(b'{"Limit": 1}')
    with pytest.raises(auth.InvalidSignatureException) as e:
        verifier.verify("POST", target, headers, b'{"Limit": 2}')
    assert e.value.message.startswith("The request signature we calculated does not match the signature you provided.")


def test_tampered_signed_header_is_rejected():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    headers["x-amz-target"] = "DynamoDB_20120810.DeleteTable"
    with pytest.raises(auth.InvalidSignatureException):
        verifier.verify("POST", target, headers, body)


def test_unknown_key_id_is_unrecognized_client():
    verifier = auth.SigV4Verifier({"OTHER": SECRET})
    with pytest.raises(auth.UnrecognizedClientException) as e:
        verifier.verify("POST", *signed())
    assert e.value.message == "The security token included in the request is invalid."


def test_missing_authorization_is_missing_authentication_token():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    del headers["authorization"]
    with pytest.raises(auth.MissingAuthenticationTokenException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message == "Request is missing Authentication Token"


def test_incomplete_authorization_header():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=x/y"
    del headers["x-amz-date"]
    with pytest.raises(auth.IncompleteSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message == (
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
        "parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256 Credential=x/y")


def test_credential_with_wrong_number_of_parts():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    headers["authorization"] = headers["authorization"].replace("/us-east-1/", "/")
    with pytest.raises(auth.IncompleteSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert "Credential must have exactly 5 slash-delimited elements" in e.value.message


def test_wrong_service_in_scope():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    with pytest.raises(auth.InvalidSignatureException) as e:
        verifier.verify("POST", *signed(service="s3"))
    assert e.value.message == "Credential should be scoped to correct service: 'dynamodb'. "


def test_signature_older_than_15_minutes_is_expired():
    target, headers, body = signed()
    verifier = auth.SigV4Verifier({KEY_ID: SECRET}, clock=lambda: time.time() + 16 * 60)
    with pytest.raises(auth.InvalidSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message.startswith("Signature expired: ")
    assert e.value.message.endswith(" - 15 min.)")


def test_signature_from_the_future_is_not_yet_current():
    target, headers, body = signed()
    verifier = auth.SigV4Verifier({KEY_ID: SECRET}, clock=lambda: time.time() - 16 * 60)
    with pytest.raises(auth.InvalidSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message.startswith("Signature not yet current: ")


def test_skew_within_15_minutes_is_accepted():
    target, headers, body = signed()
    verifier = auth.SigV4Verifier({KEY_ID: SECRET}, clock=lambda: time.time() + 14 * 60)
    assert verifier.verify("POST", target, headers, body) == KEY_ID


def test_bad_date_format():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    headers["x-amz-date"] = "2024"
    with pytest.raises(auth.IncompleteSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message.startswith("Date must be in ISO-8601 'basic format'. Got '2024'.")


# ------------------------------------------------------------------ credentials files

def test_credentials_file_in_aws_format(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n"
                    "[other]\naws_access_key_id=A2\naws_secret_access_key=S2\n")
    path.chmod(0o600)
    assert auth.load_credentials(path) == {"A1": "S1", "A2": "S2"}


def test_credentials_file_with_pairs(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("# keys\nA1 S1/with+chars\nA2:S2\n")
    path.chmod(0o600)
    assert auth.load_credentials(path) == {"A1": "S1/with+chars", "A2": "S2"}


def test_empty_credentials_file_is_an_error(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("# nothing\n")
    path.chmod(0o600)
    with pytest.raises(ValueError):
        auth.load_credentials(path)


def test_credentials_from_env():
    assert auth.credentials_from_env({"KVSTORE_ACCESS_KEY_ID": "a", "KVSTORE_SECRET_ACCESS_KEY": "s"}) == {"a": "s"}
    assert auth.credentials_from_env({"KVSTORE_ACCESS_KEY_ID": "a"}) is None


# ------------------------------------------------------------------ through the server

@pytest.fixture(scope="module")
def secure_server(wire_db):
    handler = RequestHandler(wire_db.engine, verifier=auth.SigV4Verifier({KEY_ID: SECRET}))
    with ServerThread(handler) as running:
        yield running


def _client(server, key_id=KEY_ID, secret=SECRET):
    import boto3
    from botocore.config import Config
    return boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def test_server_accepts_a_good_signature(secure_server):
    assert "TableNames" in _client(secure_server).list_tables()


def test_server_rejects_a_wrong_secret(secure_server):
    with pytest.raises(ClientError) as e:
        _client(secure_server, secret="wrong").list_tables()
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_server_rejects_an_unknown_key(secure_server):
    with pytest.raises(ClientError) as e:
        _client(secure_server, key_id="NOBODY").list_tables()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_server_rejects_an_unsigned_request(secure_server):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", secure_server.server.port, timeout=10)
    conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                                    "Content-Type": "application/x-amz-json-1.0"})
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    assert response.status == 400
    assert body == {"__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
                    "message": "Request is missing Authentication Token"}


def test_server_verifies_a_gzip_body_before_inflating_it(secure_server):
    import gzip
    import http.client
    body = gzip.compress(b"{}")
    target, headers, _ = signed(body, url=f"http://127.0.0.1:{secure_server.server.port}/",
                                headers={"Content-Encoding": "gzip"})
    conn = http.client.HTTPConnection("127.0.0.1", secure_server.server.port, timeout=10)
    conn.request("POST", target, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    assert response.status == 200, data


def test_every_scope_problem_is_reported_in_dynamodbs_order():
    """As DynamoDB answers a scope wrong in every part: region, service, terminator, then the date."""
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    target, headers, body = signed()
    amz_date = headers["x-amz-date"]
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=AKIDKVSTORE/b/c/d/e, SignedHeaders=host;x-amz-date, "
                                "Signature=00")
    with pytest.raises(auth.InvalidSignatureException) as e:
        verifier.verify("POST", target, headers, body)
    assert e.value.message == (
        "Credential should be scoped to a valid region, not 'c'. Credential should be scoped to correct service: "
        "'dynamodb'. Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. Date in "
        f"Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != "
        f"'{amz_date[:8]}', from '{amz_date}'.")


def test_the_regions_are_botocores_dynamodb_regions():
    """kvstore.regions copies botocore's endpoint data (kvstore does not need botocore to run): every
    region of a partition with a DynamoDB endpoint, FIPS and 'local' endpoints aside (they sign with one
    of these)."""
    import botocore.session
    from kvstore.regions import REGIONS
    data = botocore.session.get_session().get_data("endpoints")
    expected = set()
    for partition in data["partitions"]:
        endpoints = partition["services"].get("dynamodb", {}).get("endpoints", {})
        expected |= {name for name in endpoints if name in partition["regions"]}
    assert expected <= REGIONS, sorted(expected - REGIONS)
    missing = REGIONS - expected
    # a region botocore no longer lists would be one AWS closed: none has been
    assert not missing, sorted(missing)


def test_a_region_dynamodb_does_not_serve_is_an_invalid_scope():
    verifier = auth.SigV4Verifier({KEY_ID: SECRET})
    for region in ("eu-east-2", "us-east-10", "local", "aws-global"):
        with pytest.raises(auth.InvalidSignatureException) as e:
            verifier.verify("POST", *signed(region=region))
        assert e.value.message == f"Credential should be scoped to a valid region, not '{region}'. "
    for region in ("eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-7"):
        assert verifier.verify("POST", *signed(region=region)) == KEY_ID


# ------------------------------------------------------------------ remembered forms

def _outcome(headers, now):
    return _one(lambda: auth.check_form(headers, now)), _one(
        lambda: auth.AnyKey(clock=lambda: now).authenticate("POST", "/", headers, b"{}"))


def _one(call):
    try:
        return call()
    except auth.InvalidSignatureException as e:
        return ("InvalidSignature", e.message)
    except auth.IncompleteSignatureException as e:
        return ("IncompleteSignature", e.message)
    except auth.MissingAuthenticationTokenException as e:
        return ("MissingAuthenticationToken", e.message)


@settings(max_examples=200, deadline=None)
@given(
    head=st.sampled_from([
        "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date",
        "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=x-amz-date",
        "AWS4-HMAC-SHA256 Credential=AK/20250102/us-east-1/dynamodb/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 SignedHeaders=host",
        "AWS4-HMAC-SHA1 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, Signature=x, SignedHeaders=host",
    ]),
    signatures=st.lists(st.text(alphabet="0af =,", max_size=5), min_size=1, max_size=4),
    amz_date=st.sampled_from(["20250101T000000Z", "20250101T000001Z", "20250132T000000Z", "2025", None]),
    skews=st.lists(st.sampled_from([0, 60, 899, 901, -901, -60]), min_size=1, max_size=4),
)
def test_a_remembered_form_gives_what_a_fresh_parse_gives(head, signatures, amz_date, skews):
    # check_form remembers forms found valid (all but the signature's value and the time): after
    # any earlier requests, each request gets the result or the error a fresh parse gives it.
    for signature, skew in zip(signatures * len(skews), skews * len(signatures)):
        headers = {"authorization": f"{head}, Signature={signature}", "host": "h"}
        if amz_date is not None:
            headers["x-amz-date"] = amz_date
        now = 1735689600.0 + skew
        remembered = _outcome(headers, now)
        forms, dates = dict(auth._FORMS), dict(auth._AMZ_DATES)
        auth._FORMS.clear()
        auth._AMZ_DATES.clear()
        assert _outcome(headers, now) == remembered
        auth._FORMS.update(forms)
        auth._AMZ_DATES.update(dates)


def test_a_signature_after_spaces_is_read_stripped_when_its_form_is_remembered():
    # hypothesis found it: "Signature= 0" is the signature "0", remembered form or not
    head = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date"
    headers = {"authorization": f"{head}, Signature=0", "host": "h", "x-amz-date": "20250101T000000Z"}
    assert auth.check_form(headers, 1735689600.0).signature == "0"
    headers["authorization"] = f"{head}, Signature= 1"
    assert auth.check_form(headers, 1735689600.0).signature == "1"
    headers["authorization"] = f"{head}, Signature= "
    with pytest.raises(auth.IncompleteSignatureException):
        auth.check_form(headers, 1735689600.0)


def test_a_form_signed_anew_every_second_is_remembered_once_not_once_per_second():
    # The soak's RSS (bench/results/rss.md): keyed by X-Amz-Date too, the cache gained an entry each
    # second of traffic and filled only after _MAX_FORMS seconds; one entry per form is the bound.
    head = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date"
    saved = dict(auth._FORMS)
    auth._FORMS.clear()
    try:
        checker = auth.AnyKey(clock=lambda: 1735689600.0)
        for second in range(600):
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(1735689600 + second // 2))
            headers = {"authorization": f"{head}, Signature=ab{second}", "host": "h", "x-amz-date": amz_date}
            assert checker.authenticate("POST", "/", headers, b"", now=1735689600.0 + second // 2).key_id == "AK"
            assert len(auth._FORMS) == 1
        # a remembered form still answers an old date with the error a fresh parse gives
        headers = {"authorization": f"{head}, Signature=ab", "host": "h", "x-amz-date": amz_date}
        with pytest.raises(auth.InvalidSignatureException, match="Signature expired"):
            checker.authenticate("POST", "/", headers, b"", now=1735689600.0 + 3600)
    finally:
        auth._FORMS.clear()
        auth._FORMS.update(saved)
