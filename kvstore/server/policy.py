"""Per-key permissions: a small subset of IAM's identity policies, and what each request needs.

A key of the credentials file may carry ``read_only = true`` or a ``policy``
(docs/security.md): a JSON policy document whose statements are all
``"Effect": "Allow"`` with ``Action`` and ``Resource`` (a string or a list;
``*`` and ``?`` wildcards, actions compared without regard to case as IAM
does; ``Sid`` and ``Version`` allowed).  Anything else IAM has (Deny,
NotAction, NotResource, Condition, Principal) is refused when the file is
read, so a key is never given less protection than its file says.

A request is allowed when every ``(dynamodb:<Action>, resource ARN)`` it needs
(:func:`required`) matches a statement.  The pairs are IAM's for DynamoDB: a
table's actions on its ARN, Query / Scan of an index on the index's ARN,
BatchGetItem / BatchWriteItem on each table, TransactWriteItems as PutItem /
UpdateItem / DeleteItem / ConditionCheckItem on each table (TransactGetItems
as GetItem), PartiQL as PartiQLSelect / PartiQLInsert / PartiQLUpdate /
PartiQLDelete on each statement's table (or index), backups on the backup ARN
(RestoreTableFromBackup and RestoreTableToPointInTime also on the target table,
the latter on its source table instead of a backup),
streams on the stream ARN, ListTables and other account-wide actions on
``arn:aws:dynamodb:<region>:<account>:table/*``, DescribeLimits on ``*``.
A denied request is AccessDeniedException with DynamoDB's message, before the
operation runs, so it changes nothing.
"""

import fnmatch
import json
import re

from kvstore.errors import AccessDeniedException

__all__ = ["Policy", "READ_ONLY", "required", "authorize", "check_accounts", "ARN_ACTIONS"]

_STATEMENT_MEMBERS = frozenset({"Sid", "Effect", "Action", "Resource"})


def _strings(value, what):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{what} must be a non-empty string or list of strings")
    return value


def _pattern(glob, ignore_case):
    return re.compile(fnmatch.translate(glob), re.IGNORECASE if ignore_case else 0)


class Policy:
    """Allow statements: ``[(action globs, resource globs)]``; :meth:`allows` is any statement matching."""

    def __init__(self, statements):
        self.statements = [([_pattern(a, True) for a in actions], [_pattern(r, False) for r in resources])
                           for actions, resources in statements]
        self.source = statements

    @classmethod
    def from_json(cls, text):
        """A policy document (JSON text or a dict); raises ValueError for what kvstore does not support."""
        try:
            document = json.loads(text) if isinstance(text, str) else text
        except ValueError as e:
            raise ValueError(f"not JSON: {e}") from None
        if not isinstance(document, dict):
            raise ValueError("a policy document is a JSON object with a Statement member")
        unknown = set(document) - {"Version", "Id", "Statement"}
        if unknown:
            raise ValueError(f"unsupported members {', '.join(sorted(unknown))}")
        statements = document.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise ValueError("Statement must be a statement or a non-empty list of them")
        out = []
        for i, statement in enumerate(statements):
            if not isinstance(statement, dict):
                raise ValueError(f"Statement {i} is not an object")
            unknown = set(statement) - _STATEMENT_MEMBERS
            if unknown:
                raise ValueError(f"Statement {i}: kvstore supports Sid, Effect, Action and Resource only, "
                                 f"not {', '.join(sorted(unknown))}")
            if statement.get("Effect") != "Allow":
                raise ValueError(f"Statement {i}: only \"Effect\": \"Allow\" statements are supported")
            actions = _strings(statement.get("Action"), f"Statement {i}: Action")
            for action in actions:
                if action != "*" and not action.lower().startswith("dynamodb:"):
                    raise ValueError(f"Statement {i}: action {action!r} is not a dynamodb: action")
            out.append((actions, _strings(statement.get("Resource"), f"Statement {i}: Resource")))
        return cls(out)

    def allows(self, action, resource):
        """Whether a statement allows ``action`` (``dynamodb:GetItem``) on ``resource`` (an ARN or ``*``)."""
        for actions, resources in self.statements:
            if any(a.match(action) for a in actions) and any(r.match(resource) for r in resources):
                return True
        return False


#: ``read_only = true``: the actions of AWS's AmazonDynamoDBReadOnlyAccess that kvstore has, on everything
READ_ONLY = Policy([(["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:Describe*",
                      "dynamodb:GetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:List*",
                      "dynamodb:PartiQLSelect", "dynamodb:Query", "dynamodb:Scan"], ["*"])])

# Actions whose resource is a table named by TableName (optionally with an index).
_TABLE_ACTIONS = frozenset("""
    CreateTable DeleteTable DescribeTable UpdateTable DescribeTimeToLive UpdateTimeToLive GetItem PutItem
    UpdateItem DeleteItem Query Scan CreateBackup DescribeContinuousBackups UpdateContinuousBackups
""".split())
_TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}
_PARTIQL = {"Select": "PartiQLSelect", "Exists": "PartiQLSelect", "Insert": "PartiQLInsert",
            "Update": "PartiQLUpdate", "Delete": "PartiQLDelete"}


def _text(value):
    return value if isinstance(value, str) else None


def required(action, body, account, region):
    """The ``(IAM action, resource)`` pairs a request needs: ``body`` is its parsed JSON (any shape:
    members of the wrong type contribute nothing, and the operation then rejects the request)."""
    prefix = f"arn:aws:dynamodb:{region}:{account}:table/"
    body = body if isinstance(body, dict) else {}

    def table(name):
        name = _text(name)
        if name is None:
            return None
        if name.startswith("arn:"):            # a table ARN where a name may be one: that resource itself
            return name
        return prefix + name

    iam = "dynamodb:" + action
    if action in _TABLE_ACTIONS:
        arn = table(body.get("TableName"))
        index = _text(body.get("IndexName"))
        if arn is None:
            return []
        return [(iam, f"{arn}/index/{index}" if index and action in ("Query", "Scan") else arn)]
    if action in ("BatchGetItem", "BatchWriteItem"):
        items = body.get("RequestItems")
        return [(iam, table(name)) for name in items] if isinstance(items, dict) else []
    if action in ("TransactWriteItems", "TransactGetItems"):
        out = []
        items = body.get("TransactItems")
        for entry in items if isinstance(items, list) else ():
            if not isinstance(entry, dict):
                continue
            for member, spec in entry.items():
                name = table(spec.get("TableName")) if isinstance(spec, dict) else None
                if name is None:
                    continue
                if action == "TransactGetItems":
                    out.append(("dynamodb:GetItem", name))
                elif member in _TRANSACT_WRITE:
                    out.append(("dynamodb:" + _TRANSACT_WRITE[member], name))
        return out
    if action in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        if action == "ExecuteStatement":
            statements = [body.get("Statement")]
        else:
            entries = body.get("Statements" if action == "BatchExecuteStatement" else "TransactStatements")
            statements = [e.get("Statement") for e in entries if isinstance(e, dict)] \
                if isinstance(entries, list) else []
        out = []
        for statement in statements:
            needed = _partiql(statement, prefix)
            if needed is not None:
                out.append(needed)
        return out
    if action in ("DescribeBackup", "DeleteBackup"):
        arn = _text(body.get("BackupArn"))
        return [(iam, arn)] if arn else []
    if action == "RestoreTableFromBackup":
        backup, target = _text(body.get("BackupArn")), table(body.get("TargetTableName"))
        return [(iam, r) for r in (backup, target) if r]
    if action == "RestoreTableToPointInTime":
        source = _text(body.get("SourceTableArn")) or table(body.get("SourceTableName"))
        target = table(body.get("TargetTableName"))
        return [(iam, r) for r in (source, target) if r]
    if action in ("TagResource", "UntagResource", "ListTagsOfResource"):
        arn = _text(body.get("ResourceArn"))
        return [(iam, arn)] if arn else []
    if action in ("DescribeStream", "GetShardIterator"):
        arn = _text(body.get("StreamArn"))
        return [(iam, arn)] if arn else []
    if action == "GetRecords":                 # an iterator is "<stream arn>|..."
        iterator = _text(body.get("ShardIterator"))
        return [(iam, iterator.split("|", 1)[0])] if iterator else []
    if action in ("ListStreams", "ListBackups"):
        arn = table(body.get("TableName"))
        return [(iam, arn or prefix + "*")]
    if action == "DescribeEndpoints":            # needs no permission in IAM either
        return []
    if action == "DescribeLimits":
        return [(iam, "*")]
    return [(iam, prefix + "*")]                  # ListTables and any account-wide action


def _partiql(statement, prefix):
    if not isinstance(statement, str):
        return None
    from kvstore.partiql import parser
    try:
        node = parser.parse(statement)
    except Exception:       # the operation answers the statement's own error; it reaches no table
        return None
    kind = type(node).__name__
    if kind == "Exists":
        node = node.select
    name = getattr(node, "table", None)
    if kind not in _PARTIQL or not isinstance(name, str):
        return None
    resource = prefix + name
    index = getattr(node, "index", None)
    if isinstance(index, str) and index:
        resource += "/index/" + index
    return ("dynamodb:" + _PARTIQL[kind], resource)


def authorize(key, action, body, account, region):
    """Raise AccessDeniedException unless ``key``'s policy allows every pair the request needs."""
    policy = key.policy
    if policy is None:
        return
    for iam_action, resource in required(action, body, account, region):
        if not policy.allows(iam_action, resource):
            raise AccessDeniedException(
                f"User: {key.user_arn(account)} is not authorized to perform: {iam_action} on resource: "
                f"{resource} because no identity-based policy allows the {iam_action} action")


#: actions whose request may name a resource by ARN (backups, point-in-time restore, tagging, streams)
ARN_ACTIONS = frozenset("""
    DescribeBackup DeleteBackup RestoreTableFromBackup RestoreTableToPointInTime ListBackups TagResource
    UntagResource ListTagsOfResource DescribeStream GetShardIterator GetRecords ListStreams CreateBackup
    DescribeContinuousBackups UpdateContinuousBackups
""".split())


def _account_of(arn):
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else None


def check_accounts(key, action, body, account, region):
    """Raise AccessDeniedException when the request names a resource of another account by its ARN.

    IAM allows a call on another account's resource only when a resource-based policy there allows it
    too; kvstore has no resource-based policies, so every such call is denied with IAM's message for
    it, whatever the key's own policy says (it could not reach that account's database anyway: the
    ARN would otherwise be looked up, by name, among the caller's own tables and backups)."""
    if action not in ARN_ACTIONS:
        return
    for iam_action, resource in required(action, body, account, region):
        other = _account_of(resource) if resource.startswith("arn:") else None
        if other is not None and other != account:
            raise AccessDeniedException(
                f"User: {key.user_arn(account)} is not authorized to perform: {iam_action} on resource: "
                f"{resource} because no resource-based policy allows the {iam_action} action")
