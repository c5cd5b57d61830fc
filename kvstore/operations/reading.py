"""What Query and Scan share: Select rules, index checks, ExclusiveStartKey, paging.

A page stops when ``Limit`` items have been *evaluated* (before the filter), or
when the items read reach 1 MB (measured on the stored size), or at the end of
the data; LastEvaluatedKey is the key of the last item evaluated, and for an
index it holds the index key attributes plus the table key.
"""

from kvstore import _core, limits
from kvstore.errors import NO_VALUE_SHOWN, ValidationException, constraint_error, invalid_parameter
from kvstore.expressions import compile_request, legacy
from kvstore.operations.common import capacity, key_type, read_units


class Source:
    """The table or index a Query/Scan reads, with what it can return."""

    #: with capacity enforced (kvstore.capacity): ``(meter, row key)`` that admits and charges the page
    #: once read (``_capacity``); set on a copy only (``meter``)
    metered = None
    #: the LastEvaluatedKey's attribute names, found on first use
    _names = None

    def __init__(self, table, index_name):
        self.table = table
        self.index = None
        if index_name is not None:
            self.index = table.indexes.get(index_name)
            if self.index is None:
                raise ValidationException(f"The table does not have the specified index: {index_name}")
        self.schema = self.index.schema if self.index else table.schema
        self.structure = self.index if self.index else table
        self.values = self.index.entries if self.index else table.rows

    def meter(self, meter, row_key=None):
        """This Source for one read under enforced capacity: a copy (a prepared plan's Source serves
        concurrent requests) whose page the meter admits and charges once it is read (``_capacity``:
        one call, which raises DynamoDB's throttling error; reading changes nothing, so a throttled read
        leaves what one refused before reading would).  ``row_key``: a key in the partition read."""
        source = object.__new__(Source)
        for name, value in self.__dict__.items():      # one by one, in order: the copy keeps the instances'
            setattr(source, name, value)               # shared attribute layout (dict.update would not)
        source.metered = (meter, row_key)
        return source

    @property
    def is_gsi(self):
        return self.index is not None and self.index.kind == "GSI"

    def key_names(self):
        names = list(self.schema.names)
        if self.index is not None:
            names += [n for n in self.table.schema.names if n not in names]
        return names

    def last_key(self, item):
        names = self._names
        if names is None:       # once per Source: a prepared plan keeps its Source
            names = self._names = tuple(self.key_names())
        return {n: item[n] for n in names}

    def row_key_of(self, key):
        """Row key (in this source) of an ExclusiveStartKey that passed validation."""
        if self.index is None:
            return self.table.schema.row_key(key)
        table_key = self.table.schema.row_key(key)
        s = self.schema
        if s.composite:
            return _core.composite_index_key(tuple(key[n] for n in s.hash_names),
                                             tuple(key[n] for n in s.range_names), table_key)
        return _core.index_key(key[s.hash_name], key.get(s.range_name) if s.range_name else None, table_key)


def check_limit(request, operation):
    limit = request.get("Limit")
    if limit is not None and limit < 1:
        if operation == "Query":
            raise constraint_error([(NO_VALUE_SHOWN, "Limit", "Member must have value greater than or equal to 1")])
        raise constraint_error([(str(limit), "limit", "Member must have value greater than or equal to 1")])
    return limit


def compile_read(request, operation):
    """``(key_condition, filter, projection)`` of a Query or Scan request."""
    legacy.check_mixing(operation, request)
    filter_member = "QueryFilter" if operation == "Query" else "ScanFilter"
    key_condition = filter_ = projection = None
    names = request.get("ExpressionAttributeNames")
    values = request.get("ExpressionAttributeValues")
    key_text = request.get("KeyConditionExpression") if operation == "Query" else None
    filter_text = request.get("FilterExpression")
    projection_text = request.get("ProjectionExpression")
    if key_text is not None or filter_text is not None or projection_text is not None or names is not None \
            or values is not None:
        compiled = compile_request(operation=operation, names=names, values=values, key_condition=key_text,
                                   filter=filter_text, projection=projection_text)
        key_condition, filter_, projection = compiled.key_condition, compiled.filter, compiled.projection
    if operation == "Query" and request.get("KeyConditions") is not None:
        key_condition = legacy.key_conditions(request["KeyConditions"])
    if request.get(filter_member) is not None:
        filter_ = legacy.filter_condition(request[filter_member], request.get("ConditionalOperator"),
                                          filter_member)
    if request.get("AttributesToGet") is not None:
        projection = legacy.attributes_to_get(request["AttributesToGet"])
    return key_condition, filter_, projection


def resolve_select(request, source, projection):
    """Select after DynamoDB's defaulting and checks."""
    select = request.get("Select")
    has_projection = request.get("ProjectionExpression") is not None or request.get("AttributesToGet") is not None
    if select is None:
        select = "SPECIFIC_ATTRIBUTES" if has_projection else (
            "ALL_PROJECTED_ATTRIBUTES" if source.index is not None else "ALL_ATTRIBUTES")
    if has_projection and select != "SPECIFIC_ATTRIBUTES":
        member = "ProjectionExpression" if request.get("ProjectionExpression") is not None else "AttributesToGet"
        raise ValidationException(
            f"Cannot specify the {member} when choosing to get {select}" if select != "COUNT" else
            f"Cannot specify the {member} when choosing to get COUNT")
    if select == "SPECIFIC_ATTRIBUTES" and not has_projection:
        raise ValidationException(
            "1 validation error detected: SPECIFIC_ATTRIBUTES requires either ProjectionExpression "
            "or AttributesToGet")
    if select == "ALL_PROJECTED_ATTRIBUTES" and source.index is None:
        raise ValidationException(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if source.is_gsi:
        index = source.index
        if select == "ALL_ATTRIBUTES" and not index.projects_all:
            raise invalid_parameter(
                f"Select type ALL_ATTRIBUTES is not supported for global secondary index {index.name} "
                "because its projection type is not ALL")
        if projection is not None and not index.projects_all:
            missing = sorted(projection.top_level_names - index.projected_names)
            if missing:
                raise invalid_parameter(
                    f"Global secondary index {index.name} does not project the requested attribute(s) "
                    f"[{', '.join(missing)}]: the projection of a GSI query may only use projected attributes")
    return select


def check_consistent_read(request, source):
    if request.get("ConsistentRead") and source.is_gsi:
        raise ValidationException("Consistent reads are not supported on global secondary indexes")
    if source.index is not None and source.index.status != "ACTIVE":
        raise ValidationException(f"Cannot read from backfilling global secondary index: {source.index.name}")


def start_key(request, source):
    """Validated ExclusiveStartKey (or None)."""
    key = request.get("ExclusiveStartKey")
    if key is None:
        return None
    names = source.key_names()
    types = dict(source.table.schema.types())
    types.update(source.schema.types())
    if type(key) is not dict or set(key) != set(names) or any(key_type(key[n]) != types[n] for n in names):
        raise ValidationException("The provided starting key is invalid: "
                                  "The provided key element does not match the schema")
    for n in names:
        if not _core.key_bytes(key[n]):
            raise ValidationException("The provided starting key is invalid: One or more parameter values "
                                      "are not valid. The AttributeValue for a key attribute cannot contain "
                                      f"an empty string value. Key: {n}")
    return key


def collect(request, source, bounds, filter_, projection, select, limit):
    """Read one page of ``source`` within ``bounds`` and build a Query/Scan response.

    ``bounds`` is ``(lo, lo_inclusive, hi, hi_inclusive, reverse, chunk)``: row-key bounds (None:
    open), the direction, and how many keys to take per lock hold.  The walk itself (take keys in
    order, look each up, unpack, Limit, the 1 MB cap) is the core's ``read_page``; the filter and
    the projection are applied here to what it read.
    """
    fetch_from_table = (source.index is not None and not source.index.projects_all and not source.is_gsi
                        and (select == "ALL_ATTRIBUTES" or (
                            projection is not None
                            and not projection.top_level_names <= source.index.projected_names)))
    count_only = select == "COUNT"
    if filter_ is None and projection is None and not fetch_from_table and not count_only:
        return plain_page(request, source, bounds, limit)
    if fetch_from_table:
        return _fetching_page(request, source, bounds, filter_, projection, select, limit)
    read, sized_bytes, stopped = _read(request, source, bounds, limit)
    items = []
    matched = 0
    for item in read:
        if filter_ is None or filter_.evaluate(item):
            matched += 1
            if not count_only:
                items.append(item if projection is None else projection.apply(item))
    response = {} if count_only else {"Items": items}
    response["Count"] = matched
    response["ScannedCount"] = len(read)
    if stopped:
        response["LastEvaluatedKey"] = source.last_key(read[-1])
    return _capacity(response, request, source, sized_bytes)


def _fetching_page(request, source, bounds, filter_, projection, select, limit):
    """A page of an LSI that does not project what is asked for: each entry's item is read from the table."""
    values = source.values
    unpack = _core.unpack_item
    count_only = select == "COUNT"
    page_size = limits.MAX_PAGE_SIZE
    items = []
    scanned = matched = read_bytes = sized_bytes = 0
    sized = source.metered is not None or request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES")
    packed_item_size = _core.packed_item_size
    last = None
    stopped = False
    lo, lo_inc, hi, hi_inc, reverse, chunk = bounds
    for batch in source.table.iter_range(source.structure, lo, lo_inc, hi, hi_inc, reverse, chunk):
        for row_key in batch:
            packed = values.get(row_key)
            if packed is None:       # removed after the key list was read
                continue
            item = unpack(packed)
            if sized:
                sized_bytes += packed_item_size(packed)
            base = source.table.rows.get(source.table.schema.row_key(item))
            if base is None:
                continue
            item = unpack(base)
            scanned += 1
            read_bytes += len(packed)
            last = item
            if filter_ is None or filter_.evaluate(item):
                matched += 1
                if not count_only:
                    items.append(item if projection is None else projection.apply(item))
            if scanned == limit or read_bytes >= page_size:
                stopped = True
                break
        if stopped:
            break
    response = {} if count_only else {"Items": items}
    response["Count"] = matched
    response["ScannedCount"] = scanned
    if stopped:
        response["LastEvaluatedKey"] = source.last_key(last)
    return _capacity(response, request, source, sized_bytes)


def plain_page(request, source, bounds, limit):
    """The common page: whole items, no filter or projection."""
    items, read_bytes, stopped = _read(request, source, bounds, limit)
    response = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
    if stopped:
        response["LastEvaluatedKey"] = source.last_key(items[-1])
    return _capacity(response, request, source, read_bytes)


def _read(request, source, bounds, limit):
    """``(items, size, stopped)`` of one page: ``size`` gives the read units of what was read (reference
    7) when ConsumedCapacity or enforced capacity needs them, else 0.

    The size is the core's ``read_size``, worked out in the page walk: the
    stored length when it settles the units (a page of at most 1 KB packed, or
    of at most 4 KB packed whose items hold no list, map or set, is one read
    unit whatever its exact size), else DynamoDB's size read off the stored
    bytes (``packed_item_size``).
    """
    if source.metered is None and request.get("ReturnConsumedCapacity") not in ("TOTAL", "INDEXES"):
        items, _, stopped = source.table.read_page(source.structure, *bounds, limit, True)
        return items, 0, stopped
    return source.table.read_page(source.structure, *bounds, limit, True, True)


def _capacity(response, request, source, read_bytes):
    """ConsumedCapacity of a page, and its admission and charge under enforced capacity: ``read_bytes``
    is the DynamoDB size of every item read (before the filter), or a size of the same read units
    (``_read``), rounded up to 4 KB once per page (reference 7); the 1 MB page limit itself is
    measured on the stored size."""
    if source.metered is not None:
        meter, row_key = source.metered
        meter.read(source.table, source.index, row_key, read_bytes, request.get("ConsistentRead"))
    mode = request.get("ReturnConsumedCapacity")
    if mode in ("TOTAL", "INDEXES"):
        units = read_units(read_bytes, bool(request.get("ConsistentRead")))
        index_units = {(source.index.name, source.index.kind): units} if source.index else None
        response["ConsumedCapacity"] = capacity(source.table.name, units, mode, index_units)
    return response
