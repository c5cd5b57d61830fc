"""Fixtures of the per-operation suite: a database and a few standard tables.

Every test reaches kvstore only through ``db`` (shaped like boto3's DynamoDB
resource).  To run the suite on every face (embedded, in-process boto3 hook,
HTTP server), make ``db`` return the face fixture of tests/conftest.py instead:
``def db(dynamodb): return dynamodb``.  (Those boto3 resources are built with
``parameter_validation=False``, so botocore lets through the requests that test
DynamoDB's own validation: missing members, ``Limit=0``, empty lists.)
"""

import pytest

import kvstore

from .helpers import create_table, index


@pytest.fixture
def embedded_db():
    database = kvstore.open(":memory:")
    yield database
    database.close()


@pytest.fixture
def db(embedded_db):
    """The database every test uses; ``def db(dynamodb): return dynamodb`` runs the suite on every face."""
    return embedded_db


@pytest.fixture
def client(dynamodb):
    """The low-level client of a ``dynamodb`` face (``meta.client``): every action, on every face."""
    return dynamodb.meta.client


@pytest.fixture
def hash_table(db):
    """Key ``pk`` (S) only."""
    return create_table(db, hash_key=("pk", "S"))


@pytest.fixture
def range_table(db):
    """Key ``pk`` (S) + ``sk`` (N)."""
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "N"))


@pytest.fixture
def string_range_table(db):
    """Key ``pk`` (S) + ``sk`` (S)."""
    return create_table(db, hash_key=("pk", "S"), range_key=("sk", "S"))


@pytest.fixture
def number_table(db):
    """Key ``pk`` (N) only."""
    return create_table(db, hash_key=("pk", "N"))


@pytest.fixture
def binary_table(db):
    """Key ``pk`` (B) + ``sk`` (B)."""
    return create_table(db, hash_key=("pk", "B"), range_key=("sk", "B"))


@pytest.fixture
def gsi_table(db):
    """Key ``pk`` (S) + ``sk`` (N) with three GSIs:

    * ``gsi_all``: ``g`` (S), projection ALL;
    * ``gsi_keys``: ``g`` (S) + ``h`` (N), KEYS_ONLY;
    * ``gsi_include``: ``g`` (S), INCLUDE ``x``.
    """
    return create_table(
        db, hash_key=("pk", "S"), range_key=("sk", "N"),
        gsis=[index("gsi_all", ("g", "S")),
              index("gsi_keys", ("g", "S"), ("h", "N"), projection="KEYS_ONLY"),
              index("gsi_include", ("g", "S"), projection="INCLUDE", non_key=["x"])])


@pytest.fixture
def lsi_table(db):
    """Key ``pk`` (S) + ``sk`` (N) with two LSIs:

    * ``lsi_all``: ``pk`` + ``l`` (S), projection ALL;
    * ``lsi_keys``: ``pk`` + ``m`` (N), KEYS_ONLY.
    """
    return create_table(
        db, hash_key=("pk", "S"), range_key=("sk", "N"),
        lsis=[index("lsi_all", ("pk", "S"), ("l", "S")),
              index("lsi_keys", ("pk", "S"), ("m", "N"), projection="KEYS_ONLY")])
