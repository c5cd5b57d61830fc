"""Model-based test: random sequences of writes and reads against kvstore and a plain model.

The model is a dict ``(pk, sk) -> item`` with the obvious semantics; every read
(GetItem, Query on the table, a GSI, a GSI with a multi-attribute key and an
LSI, paginated Scan of the table and of that GSI, TransactGetItems)
is compared with what the model predicts, and the engine's own invariants
(``Table._check``: partitions, row counts, every index entry derived from its
row) are checked after every step.
"""

from decimal import Decimal

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kvstore
from kvstore.conditions import Attr, Key
from kvstore.errors import ConditionalCheckFailedException, TransactionCanceledException, ValidationException
from kvstore.types import number

PKS = st.sampled_from(["a", "b", "c", "é", "a\x00"])
SKS = st.integers(min_value=-3, max_value=3).map(Decimal) | st.sampled_from(
    [Decimal("0.5"), Decimal("-0.25"), Decimal("1e20"), Decimal("-1e-5")]).map(number)
COLORS = st.sampled_from(["red", "green", "blue"])
KINDS = st.sampled_from([Decimal(1), Decimal("-0.5")])
#: S values whose UTF-8 byte order differs from their length order; "" is refused in an index key
TAGS = st.sampled_from(["a", "ab", "b", "é", "a\x00", "Z", ""])
MULTI_KEYS = ("color", "kind", "n", "tag")


def _has_indexed(machine):
    """Whether an item is in the multi-attribute index (its queries are worth running)."""
    return any(all(a in i for a in MULTI_KEYS) for i in getattr(machine, "model", {}).values())
PROJECTIONS = ["ALL", "KEYS_ONLY", "INCLUDE"]


def sort_key(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    return value


class TableModel(RuleBasedStateMachine):
    @initialize(projection=st.sampled_from(PROJECTIONS), seed=st.lists(st.tuples(
        PKS, SKS, COLORS, KINDS, st.integers(-2, 2), TAGS.filter(bool)), max_size=12))
    def create(self, projection, seed):
        self.db = kvstore.open(":memory:")
        proj = {"ProjectionType": projection}
        if projection == "INCLUDE":
            proj["NonKeyAttributes"] = ["n"]
        self.projection = projection
        self.table = self.db.create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"},
                                  {"AttributeName": "color", "AttributeType": "S"},
                                  {"AttributeName": "n", "AttributeType": "N"},
                                  {"AttributeName": "kind", "AttributeType": "N"},
                                  {"AttributeName": "tag", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[{"IndexName": "by_color", "KeySchema": [
                {"AttributeName": "color", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
                "Projection": proj},
                # multi-attribute key: partition (color S, kind N), sort (n N, tag S)
                {"IndexName": "multi", "KeySchema": [
                    {"AttributeName": "color", "KeyType": "HASH"}, {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"}, {"AttributeName": "tag", "KeyType": "RANGE"}],
                 "Projection": proj}],
            LocalSecondaryIndexes=[{"IndexName": "by_n", "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
                "Projection": proj}],
        )
        self.model = {}
        for pk, sk, color, kind, n, tag in seed:        # a start in the multi-attribute index
            self.put_in_multi(pk, sk, color, kind, n, tag)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.close()

    # -- writes ------------------------------------------------------------

    @rule(pk=PKS, sk=SKS, color=st.none() | COLORS, n=st.none() | st.integers(-5, 5),
          extra=st.none() | st.text(max_size=5), kind=st.none() | KINDS, tag=st.none() | TAGS)
    def put(self, pk, sk, color, n, extra, kind, tag):
        item = {"pk": pk, "sk": sk}
        if color is not None:
            item["color"] = color
        if n is not None:
            item["n"] = Decimal(n)
        if extra is not None:
            item["extra"] = extra
        if kind is not None:
            item["kind"] = kind
        if tag is not None:
            item["tag"] = tag
        if tag == "":
            with pytest.raises(ValidationException, match="cannot contain an empty string value. IndexName: "
                               "multi, IndexKey: tag"):
                self.table.put_item(Item=item)
            return
        old = self.table.put_item(Item=item, ReturnValues="ALL_OLD").get("Attributes")
        assert old == self.model.get((pk, sk))
        self.model[(pk, sk)] = item

    @rule(pk=PKS, sk=SKS)
    def put_if_absent(self, pk, sk):
        item = {"pk": pk, "sk": sk, "color": "red"}
        try:
            self.table.put_item(Item=item, ConditionExpression=Attr("pk").not_exists())
        except ConditionalCheckFailedException:
            assert (pk, sk) in self.model
        else:
            assert (pk, sk) not in self.model
            self.model[(pk, sk)] = item

    @rule(pk=PKS, sk=SKS, delta=st.integers(-3, 3), color=st.none() | COLORS)
    def update(self, pk, sk, delta, color):
        values = {":d": delta}
        expression = "ADD n :d"
        if color is not None:
            expression = "SET color = :c ADD n :d"
            values[":c"] = color
        new = self.table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression=expression,
                                     ExpressionAttributeValues=values, ReturnValues="ALL_NEW")["Attributes"]
        item = dict(self.model.get((pk, sk), {"pk": pk, "sk": sk}))
        item["n"] = item.get("n", Decimal(0)) + delta
        if color is not None:
            item["color"] = color
        assert new == item
        self.model[(pk, sk)] = item

    @rule(pk=PKS, sk=SKS, color=COLORS, kind=KINDS, n=st.integers(-2, 2), tag=TAGS.filter(bool))
    def put_in_multi_rule(self, pk, sk, color, kind, n, tag):
        self.put_in_multi(pk, sk, color, kind, n, tag)

    def put_in_multi(self, pk, sk, color, kind, n, tag):
        """An item with every component of the multi-attribute index (few distinct tuples: ties, prefixes)."""
        item = {"pk": pk, "sk": sk, "color": color, "kind": kind, "n": Decimal(n), "tag": tag}
        self.table.put_item(Item=item)
        self.model[(pk, sk)] = item

    @rule(pk=PKS, sk=SKS, tag=st.none() | TAGS, kind=st.none() | KINDS)
    def set_or_remove_tag(self, pk, sk, tag, kind):
        """Moves the item into, out of, or within the multi-attribute index (or is refused for "")."""
        if tag is None:
            self.table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression="REMOVE tag")
            if (pk, sk) in self.model:
                self.model[(pk, sk)].pop("tag", None)
            return
        values = {":t": tag} if kind is None else {":t": tag, ":k": kind}
        expression = "SET tag = :t" if kind is None else "SET tag = :t, kind = :k"
        if tag == "":
            with pytest.raises(ValidationException, match="secondary index key"):
                self.table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression=expression,
                                       ExpressionAttributeValues=values)
            return
        self.table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression=expression,
                               ExpressionAttributeValues=values)
        item = self.model.setdefault((pk, sk), {"pk": pk, "sk": sk})
        item["tag"] = tag
        if kind is not None:
            item["kind"] = kind

    @rule(pk=PKS, sk=SKS)
    def remove_color(self, pk, sk):
        self.table.update_item(Key={"pk": pk, "sk": sk}, UpdateExpression="REMOVE color")
        if (pk, sk) in self.model:
            self.model[(pk, sk)].pop("color", None)

    @rule(pk=PKS, sk=SKS, expected=st.none() | COLORS)
    def delete(self, pk, sk, expected):
        kwargs = {} if expected is None else {"ConditionExpression": Attr("color").eq(expected)}
        current = self.model.get((pk, sk))
        try:
            self.table.delete_item(Key={"pk": pk, "sk": sk}, **kwargs)
        except ConditionalCheckFailedException:
            assert expected is not None and (current is None or current.get("color") != expected)
        else:
            assert expected is None or (current is not None and current.get("color") == expected)
            self.model.pop((pk, sk), None)

    @rule(a=st.tuples(PKS, SKS), b=st.tuples(PKS, SKS), require_absent=st.booleans())
    def transfer(self, a, b, require_absent):
        """A two-item transaction: all or nothing."""
        if a == b:
            return
        actions = [
            {"Update": {"TableName": "things", "Key": {"pk": a[0], "sk": a[1]}, "UpdateExpression": "ADD n :m",
                        "ExpressionAttributeValues": {":m": -1}}},
            {"Put": {"TableName": "things", "Item": {"pk": b[0], "sk": b[1], "color": "blue"},
                     **({"ConditionExpression": "attribute_not_exists(pk)"} if require_absent else {})}},
        ]
        try:
            self.db.transact_write_items(TransactItems=actions)
        except TransactionCanceledException as e:
            assert require_absent and b in self.model
            codes = [r["Code"] for r in e.response["CancellationReasons"]]
            assert codes == ["None", "ConditionalCheckFailed"]
            return
        assert not (require_absent and b in self.model)
        item = dict(self.model.get(a, {"pk": a[0], "sk": a[1]}))
        item["n"] = item.get("n", Decimal(0)) - 1
        self.model[a] = item
        self.model[b] = {"pk": b[0], "sk": b[1], "color": "blue"}

    # -- reads -------------------------------------------------------------

    @rule(pk=PKS, sk=SKS)
    def get(self, pk, sk):
        response = self.table.get_item(Key={"pk": pk, "sk": sk})
        assert response.get("Item") == self.model.get((pk, sk))

    @rule(pk=PKS, bound=SKS, op=st.sampled_from(["eq", "lt", "lte", "gt", "gte", "between"]),
          forward=st.booleans(), limit=st.none() | st.integers(1, 3))
    def query(self, pk, bound, op, forward, limit):
        if op == "between":
            condition = Key("pk").eq(pk) & Key("sk").between(bound, number(bound + 2))
            keep = lambda s: bound <= s <= bound + 2  # noqa: E731
        else:
            condition = Key("pk").eq(pk) & getattr(Key("sk"), op)(bound)
            keep = {"eq": lambda s: s == bound, "lt": lambda s: s < bound, "lte": lambda s: s <= bound,
                    "gt": lambda s: s > bound, "gte": lambda s: s >= bound}[op]
        expected = sorted((i for (p, s), i in self.model.items() if p == pk and keep(s)),
                          key=lambda i: i["sk"], reverse=not forward)
        got = self._pages(self.table.query, KeyConditionExpression=condition, ScanIndexForward=forward,
                          **({"Limit": limit} if limit else {}))
        assert got == expected

    @rule(color=COLORS, forward=st.booleans(), limit=st.none() | st.integers(1, 3))
    def query_gsi(self, color, forward, limit):
        expected = [self._project(i, ("color", "n")) for i in self.model.values()
                    if i.get("color") == color and "n" in i]
        got = self._pages(self.table.query, IndexName="by_color", KeyConditionExpression=Key("color").eq(color),
                          ScanIndexForward=forward, **({"Limit": limit} if limit else {}))
        ns = [i["n"] for i in got]
        assert ns == sorted(ns, reverse=not forward)
        assert _canon(got) == _canon(expected)

    @precondition(_has_indexed)
    @rule(color=COLORS, kind=KINDS, k=st.integers(0, 2), n=st.integers(-2, 2).map(Decimal),
          tag=TAGS.filter(bool), forward=st.booleans(), limit=st.none() | st.integers(1, 3),
          pick=st.none() | st.integers(0, 100))
    def query_multi(self, color, kind, k, n, tag, forward, limit, pick):
        """Equality on both HASH components, then every operator on a RANGE prefix of length ``k``.

        With ``pick`` the partition and the bounds are those of an indexed item (else most
        queries would find an empty partition)."""
        indexed = [i for i in self.model.values() if all(a in i for a in MULTI_KEYS)]
        if pick is not None and indexed:
            chosen = indexed[pick % len(indexed)]
            color, kind, n, tag = chosen["color"], chosen["kind"], chosen["n"], chosen["tag"]
        ops = ["eq", "lt", "lte", "gt", "gte", "between"] + (["begins_with"] if k == 2 else [])
        for op in ops if k else [None]:
            condition = Key("color").eq(color) & Key("kind").eq(kind)
            keep = lambda item: True  # noqa: E731
            if k:
                name, bound = ("n", n) if k == 1 else ("tag", tag)
                high = number(n + 1) if k == 1 else tag + "\uffff"
                if k == 2:
                    condition = condition & Key("n").eq(n)
                if op == "between":
                    condition = condition & Key(name).between(bound, high)
                else:
                    condition = condition & getattr(Key(name), op)(bound)
                b, hi = sort_key(bound), sort_key(high)
                check = {"eq": lambda v: v == bound, "lt": lambda v: sort_key(v) < b,
                         "lte": lambda v: sort_key(v) <= b, "gt": lambda v: sort_key(v) > b,
                         "gte": lambda v: sort_key(v) >= b, "between": lambda v: b <= sort_key(v) <= hi,
                         "begins_with": lambda v: v.startswith(bound)}[op]
                keep = (lambda item: check(item["n"])) if k == 1 else (  # noqa: E731
                    lambda item: item["n"] == n and check(item["tag"]))
            members = [i for i in self.model.values()
                       if all(a in i for a in ("color", "kind", "n", "tag"))
                       and i["color"] == color and i["kind"] == kind and keep(i)]
            expected = [self._project(i, ("color", "kind", "n", "tag")) for i in members]
            got = self._pages(self.table.query, IndexName="multi", KeyConditionExpression=condition,
                              ScanIndexForward=forward, **({"Limit": limit} if limit else {}))
            tuples = [(i["n"], sort_key(i["tag"])) for i in got]
            assert tuples == sorted(tuples, reverse=not forward), op
            assert _canon(got) == _canon(expected), op

    @rule(limit=st.none() | st.integers(1, 4))
    def scan_multi(self, limit):
        expected = [self._project(i, ("color", "kind", "n", "tag")) for i in self.model.values()
                    if all(a in i for a in ("color", "kind", "n", "tag"))]
        got = self._pages(self.table.scan, IndexName="multi", **({"Limit": limit} if limit else {}))
        assert _canon(got) == _canon(expected)

    @rule(pk=PKS, limit=st.none() | st.integers(1, 3))
    def query_lsi(self, pk, limit):
        expected = [self._project(i, ("pk", "n")) for (p, _), i in self.model.items() if p == pk and "n" in i]
        got = self._pages(self.table.query, IndexName="by_n", KeyConditionExpression=Key("pk").eq(pk),
                          **({"Limit": limit} if limit else {}))
        ns = [i["n"] for i in got]
        assert ns == sorted(ns)
        assert _canon(got) == _canon(expected)

    @rule(limit=st.none() | st.integers(1, 4), segments=st.sampled_from([1, 2, 3]))
    def scan(self, limit, segments):
        got = []
        for segment in range(segments):
            kwargs = {"Segment": segment, "TotalSegments": segments} if segments > 1 else {}
            if limit:
                kwargs["Limit"] = limit
            got += self._pages(self.table.scan, **kwargs)
        assert _canon(got) == _canon(list(self.model.values()))

    @rule(keys=st.lists(st.tuples(PKS, SKS), min_size=1, max_size=4, unique=True))
    def transact_get(self, keys):
        response = self.db.transact_get_items(TransactItems=[
            {"Get": {"TableName": "things", "Key": {"pk": p, "sk": s}}} for p, s in keys])
        assert [r.get("Item") for r in response["Responses"]] == [self.model.get(k) for k in keys]

    @invariant()
    def engine_invariants(self):
        if hasattr(self, "db"):
            table = self.db.engine.tables["things"]
            table._check()
            assert table.item_count == len(self.model)

    # -- helpers -----------------------------------------------------------

    def _pages(self, call, **kwargs):
        items = []
        while True:
            page = call(**kwargs)
            items += page["Items"]
            assert page["Count"] == len(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _project(self, item, index_keys):
        """What an index with this test's projection holds of ``item``."""
        if self.projection == "ALL":
            return item
        keep = {"pk", "sk"} | set(index_keys)
        if self.projection == "INCLUDE":
            keep.add("n")
        return {k: v for k, v in item.items() if k in keep}


def _canon(items):
    return sorted(repr(sorted(i.items(), key=lambda kv: kv[0])) for i in items)


TableModel.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestTableModel = TableModel.TestCase
