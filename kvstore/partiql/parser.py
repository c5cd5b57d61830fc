"""Recursive-descent parser of DynamoDB's PartiQL statements (reference 6.13).

One pass over the tokens, linear in the statement's length.  Literals become
native values here (numbers checked against DynamoDB's range with the
location DynamoDB names: ``under root``, ``root.x``, ``root[1]``); ``?``
become numbered :class:`~kvstore.partiql.tree.Param`.  Errors carry
DynamoDB's texts; anything unexpected is the not-well-formed
ValidationException, never an internal error.
"""

from decimal import Decimal

from kvstore.errors import ValidationException
from kvstore.partiql import tree as t
from kvstore.partiql.errors import at, malformed
from kvstore.partiql.lexer import END, NAME, NUMBER, OP, PARAM, QNAME, STRING, tokenize
from kvstore.types import canonical_number

#: PartiQL's reserved words that matter to DynamoDB's dialect: not usable as bare names
KEYWORDS = frozenset("""
    ALL AND ANY AS ASC AT BETWEEN BY CASE CAST CROSS DELETE DESC DISTINCT ELSE END ESCAPE EXCEPT EXISTS FALSE
    FROM FULL GROUP HAVING IN INNER INSERT INTERSECT INTO IS JOIN LEFT LIKE LIMIT MISSING MODIFIED NEW NOT NULL
    OFFSET OLD ON OR ORDER OUTER PIVOT REMOVE RETURNING RIGHT SELECT SET SOME THEN TRUE UNION UNPIVOT UPDATE
    VALUE VALUES WHEN WHERE
""".split())
#: keywords that are operators: where a term should start they are "Unexpected operator"
OPERATOR_KEYWORDS = frozenset(("AND", "OR", "IS", "IN", "LIKE", "BETWEEN", "NOT"))
COMPARISONS = frozenset(("=", "<>", "!=", "<", "<=", ">", ">="))
_INFIX = COMPARISONS | {"+", "-", "*", "/", "%", "||"}
#: a token after a table that can only be an alias
_ALIAS_FOLLOWERS = frozenset(("WHERE", "ORDER", "SET", "REMOVE", "RETURNING", "VALUE"))
_MAX_EXPONENT = 2 ** 31 - 1
#: nesting (parentheses, NOT, collections) the parser follows before it refuses the statement
MAX_DEPTH = 50


def parse(text):
    """The statement tree of ``text``."""
    return _Parser(tokenize(text)).statement()


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0
        self.params = 0
        self.loc = []                  # location of the literal being read, for number range errors
        self.depth = 0

    # -- token helpers -------------------------------------------------------------

    def peek(self, k=0):
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def next(self):
        tok = self.tokens[self.i]
        if tok.kind != END:
            self.i += 1
        return tok

    def is_word(self, word, k=0):
        tok = self.peek(k)
        return tok.kind == NAME and tok.text == word

    def is_op(self, op, k=0):
        tok = self.peek(k)
        return tok.kind == OP and tok.text == op

    def accept_word(self, word):
        if self.is_word(word):
            return self.next()
        return None

    def accept_op(self, op):
        if self.is_op(op):
            return self.next()
        return None

    def expect_word(self, word):
        if not self.is_word(word):
            self.unexpected()
        return self.next()

    def expect_op(self, op):
        if not self.is_op(op):
            self.unexpected()
        return self.next()

    def unexpected(self):
        """The error for a token that cannot come here."""
        tok = self.peek()
        if tok.kind == END:
            raise malformed("Unexpected term")
        raise malformed("Unexpected token after expression")

    # -- statements ------------------------------------------------------------------

    def statement(self):
        tok = self.peek()
        word = tok.text if tok.kind == NAME else None
        if word == "SELECT":
            node = self.select()
        elif word == "INSERT":
            node = self.insert()
        elif word == "UPDATE":
            node = self.update()
        elif word == "DELETE":
            node = self.delete()
        elif word == "FROM":
            node = self.from_first_update()
        elif word == "EXISTS" and self.is_op("(", 1):
            self.next()
            self.next()
            if not self.is_word("SELECT"):
                raise malformed("Expected data manipulation")
            node = t.Exists(self.select(), tok)
            self.expect_op(")")
        else:
            node = self.bare_expression()
        self.accept_op(";")
        if self.peek().kind != END:
            raise malformed("Unexpected token after expression")
        node.params = self.params
        return node

    def bare_expression(self):
        """A statement that is only an expression: DynamoDB names what it does not run."""
        try:
            expr = self.expression()
        except ValidationException:
            raise malformed("Expected data manipulation") from None
        if self.peek().kind != END and not self.is_op(";"):
            raise malformed("Expected data manipulation")
        if isinstance(expr, (t.Path, t.Lit, t.Param)):
            raise malformed("Expected data manipulation")
        kind = {"Is": "IsType"}.get(type(expr).__name__, type(expr).__name__)
        raise ValidationException(f"Unsupported operation: {kind}")

    def select(self):
        start = self.expect_word("SELECT")
        projection = self.projection()
        self.expect_word("FROM")
        table, index = self.source()
        where = self.where()
        order = []
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            while True:
                tok = self.peek()
                path = self.term()
                if not isinstance(path, t.Path) or len(path.steps) != 1:
                    raise at("Unexpected path component", tok)
                descending = False
                if self.accept_word("DESC"):
                    descending = True
                else:
                    self.accept_word("ASC")
                order.append((path.steps[0], descending))
                if not self.accept_op(","):
                    break
        return t.Select(projection, table, index, where, order, start)

    def projection(self):
        if self.accept_op("*"):
            if self.is_op(","):
                raise ValidationException(
                    "Other attributes should not be present in the projection when '*' is used.")
            return None
        paths = []
        while True:
            tok = self.peek()
            if tok.kind == OP and tok.text == "*":
                raise ValidationException(
                    "Other attributes should not be present in the projection when '*' is used.")
            node = self.additive()
            if not isinstance(node, t.Path):
                raise at("Unexpected path component", tok)
            paths.append(node)
            if not self.accept_op(","):
                return paths

    def source(self, simple=False):
        """``"table"`` or ``"table"."index"`` (bare or quoted names); refuses aliases."""
        tok = self.peek()
        if tok.kind not in (NAME, QNAME) or (tok.kind == NAME and tok.text in KEYWORDS):
            if simple:
                raise malformed("Expected identifier for simple path")
            self.term()                                  # raises the error for what stands here
            raise malformed("Unexpected term")
        parts = [self.next().value]
        while self.accept_op("."):
            nxt = self.peek()
            if nxt.kind not in (NAME, QNAME):
                raise malformed("Invalid path dot component")
            parts.append(self.next().value)
        if self.is_op("["):
            raise malformed("Unexpected token after expression")
        if len(parts) > 2:
            raise ValidationException("A path may contain at most 2 components in the FROM clause")
        if any(p == "" for p in parts):
            raise ValidationException("Path component cannot be an empty string")
        nxt = self.peek()
        if self.is_word("AS") or nxt.kind == QNAME or (
                nxt.kind == NAME and nxt.text not in KEYWORDS and nxt.text not in _ALIAS_FOLLOWERS):
            raise ValidationException("Aliasing is not supported")
        return parts[0], (parts[1] if len(parts) == 2 else None)

    def where(self):
        if self.accept_word("WHERE"):
            return self.expression()
        return None

    def insert(self):
        start = self.expect_word("INSERT")
        self.expect_word("INTO")
        tok = self.peek()
        if tok.kind not in (NAME, QNAME) or (tok.kind == NAME and tok.text in KEYWORDS):
            raise malformed("Expected identifier for simple path")
        table = self.next().value
        if self.is_op("."):
            raise ValidationException("INSERT statements do not support an index in the table name")
        if self.is_word("VALUES"):
            raise ValidationException("Unsupported operation: INSERT with VALUES; use VALUE with one item")
        if not self.accept_word("VALUE"):
            raise malformed("Unexpected token after expression")
        value = self.literal_root()
        if self.is_op(","):
            raise ValidationException("Unsupported operation: INSERT of more than one item")
        if self.is_word("RETURNING"):
            raise ValidationException("RETURNING is not supported in INSERT statements")
        return t.Insert(table, value, start)

    def update(self):
        start = self.expect_word("UPDATE")
        table, index = self.source()
        if index is not None:
            raise ValidationException("UPDATE statements do not support an index in the table name")
        actions = self.update_clauses()
        if not actions:
            self.unexpected()
        where = self.where()
        return t.Update(table, actions, where, self.returning(), start)

    def from_first_update(self):
        start = self.expect_word("FROM")
        table, index = self.source()
        if index is not None:
            raise ValidationException("UPDATE statements do not support an index in the table name")
        where = self.where()
        actions = self.update_clauses()
        if not actions:
            raise malformed("Expected data manipulation")
        return t.Update(table, actions, where, self.returning(), start)

    def update_clauses(self):
        actions = []
        while True:
            if self.accept_word("SET"):
                while True:
                    path = self.path_term()
                    self.expect_op("=")
                    actions.append(("SET", path, self.literal_root(additive=True)))
                    if not self.accept_op(","):
                        break
            elif self.accept_word("REMOVE"):
                while True:
                    actions.append(("REMOVE", self.path_term(), None))
                    if not self.accept_op(","):
                        break
            else:
                return actions

    def path_term(self):
        tok = self.peek()
        node = self.term()
        if not isinstance(node, t.Path):
            raise at("Unexpected path component", tok)
        return node

    def delete(self):
        start = self.expect_word("DELETE")
        self.expect_word("FROM")
        table, index = self.source(simple=True)
        if index is not None:
            raise ValidationException("DELETE statements do not support an index in the table name")
        where = self.where()
        return t.Delete(table, where, self.returning(), start)

    def returning(self):
        if not self.accept_word("RETURNING"):
            return None
        first = self.next()
        second = self.next()
        star = self.next()
        if (first.kind != NAME or first.text not in ("ALL", "MODIFIED") or second.kind != NAME
                or second.text not in ("OLD", "NEW") or star.kind != OP or star.text != "*"):
            raise malformed("Unexpected token after expression")
        return f"{first.text} {second.text}"

    # -- expressions -------------------------------------------------------------------

    def expression(self):
        return self.disjunction()

    def _rhs(self, parse):
        if self.peek().kind == END:
            raise malformed("Missing right-hand side expression of infix operator")
        return parse()

    def disjunction(self):
        first = self.conjunction()
        if not self.is_word("OR"):
            return first
        operands = [first]
        tok = self.peek()
        while self.accept_word("OR"):
            operands.append(self._rhs(self.conjunction))
        return t.Or(operands, tok)

    def conjunction(self):
        first = self.negation()
        if not self.is_word("AND"):
            return first
        operands = [first]
        tok = self.peek()
        while self.accept_word("AND"):
            operands.append(self._rhs(self.negation))
        return t.And(operands, tok)

    def negation(self):
        tok = self.accept_word("NOT")
        if tok:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise malformed("Expression nesting exceeds the supported depth")
                return t.Not(self.negation(), tok)
            finally:
                self.depth -= 1
        return self.predicate()

    def predicate(self):
        left = self.additive()
        tok = self.peek()
        if tok.kind == OP and tok.text in COMPARISONS:
            self.next()
            op = "<>" if tok.text == "!=" else tok.text
            return t.Compare(op, left, self._rhs(self.additive), tok)
        negated = False
        if self.is_word("NOT") and (self.is_word("BETWEEN", 1) or self.is_word("IN", 1) or self.is_word("LIKE", 1)):
            self.next()
            negated = True
            tok = self.peek()
        if self.accept_word("BETWEEN"):
            low = self._rhs(self.additive)
            self.expect_word("AND")
            high = self._rhs(self.additive)
            return t.Between(left, low, high, negated, tok)
        if self.accept_word("IN"):
            if self.accept_op("["):
                close = "]"
            else:
                self.expect_op("(")
                close = ")"
            items = []
            if not self.accept_op(close):
                while True:
                    items.append(self.additive())
                    if self.accept_op(close):
                        break
                    self.expect_op(",")
            return t.In(left, items, negated, tok)
        if self.accept_word("LIKE"):
            raise ValidationException("Unsupported operation: Like")
        if self.accept_word("IS"):
            negated = bool(self.accept_word("NOT"))
            type_tok = self.peek()
            if type_tok.kind != NAME:
                raise malformed("Expected type name")
            self.next()
            name = type_tok.text
            if name == "DOUBLE" and self.is_word("PRECISION"):
                self.next()
                name = "DOUBLE PRECISION"
            if name not in TYPE_NAMES:
                raise malformed("Expected type name")
            return t.Is(left, name, negated, tok)
        return left

    def additive(self):
        left = self.term()
        while True:
            tok = self.peek()
            if tok.kind == OP and tok.text in ("+", "-"):
                self.next()
                left = t.Arith(tok.text, left, self._rhs(self.term), tok)
            elif tok.kind == OP and tok.text in ("*", "/", "%", "||"):
                raise ValidationException(f"Unsupported operation: {tok.text}")
            else:
                return left

    def term(self):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise malformed("Expression nesting exceeds the supported depth")
            return self._term()
        finally:
            self.depth -= 1

    def _term(self):
        tok = self.peek()
        kind = tok.kind
        if kind == NUMBER:
            self.next()
            return t.Lit(self.number(tok.value), tok)
        if kind == STRING:
            self.next()
            return t.Lit(tok.value, tok)
        if kind == PARAM:
            self.next()
            self.params += 1
            return t.Param(self.params - 1, tok)
        if kind == QNAME:
            return self.path()
        if kind == NAME:
            word = tok.text
            if word in ("TRUE", "FALSE"):
                self.next()
                return t.Lit(word == "TRUE", tok)
            if word == "NULL":
                self.next()
                return t.Lit(None, tok)
            if self.is_op("(", 1) and (word not in KEYWORDS or word == "EXISTS"):
                return self.call()
            if word in OPERATOR_KEYWORDS:
                raise malformed("Unexpected operator")
            if word in KEYWORDS:
                raise malformed("Unexpected keyword")
            return self.path()
        if kind == OP:
            op = tok.text
            if op == "(":
                self.next()
                inner = self.expression()
                self.expect_op(")")
                return inner
            if op == "[":
                return self.list_literal()
            if op == "{":
                return self.map_literal()
            if op == "<<":
                return self.bag_literal()
            if op in ("-", "+"):
                self.next()
                operand = self.term()
                if isinstance(operand, t.Lit) and isinstance(operand.value, Decimal) and operand.token.kind == NUMBER:
                    if op == "-":
                        operand.value = self.number("-" + operand.token.value)
                    return operand
                raise ValidationException("Unsupported operation: unary " + op)
            if op in _INFIX:
                raise malformed("Unexpected operator")
        raise malformed("Unexpected term")

    def path(self):
        first = self.next()
        steps = [first.value]
        while True:
            if self.accept_op("."):
                tok = self.peek()
                if tok.kind == QNAME or (tok.kind == NAME and tok.text not in KEYWORDS):
                    steps.append(self.next().value)
                else:
                    raise malformed("Invalid path dot component")
            elif self.is_op("["):
                self.next()
                tok = self.next()
                if tok.kind == NUMBER and tok.value.isdigit():
                    steps.append(int(tok.value))
                elif tok.kind == STRING:
                    steps.append(tok.value)
                else:
                    raise malformed("Unexpected term")
                self.expect_op("]")
            else:
                return t.Path(steps, first)

    def call(self):
        tok = self.next()
        self.expect_op("(")
        args = []
        if not self.accept_op(")"):
            while True:
                star = self.accept_op("*")
                args.append(t.Lit("*", star) if star else self.expression())
                if self.accept_op(")"):
                    break
                self.expect_op(",")
        return t.Call(tok.value.lower(), args, tok)

    # -- literals ------------------------------------------------------------------------

    def literal_root(self, additive=False):
        self.loc = ["root"]
        try:
            return self.additive() if additive else self.term()
        finally:
            self.loc = []

    def number(self, text):
        mantissa, _, exponent = text.lower().partition("e")
        if exponent and abs(int(exponent)) > _MAX_EXPONENT:
            raise malformed()
        try:
            return Decimal(canonical_number(text))
        except ValidationException as e:
            raise ValidationException(f"{e.message} under {''.join(self.loc) or 'root'}") from None

    def list_literal(self):
        tok = self.expect_op("[")
        items = []
        if not self.accept_op("]"):
            while True:
                self.loc.append(f"[{len(items)}]")
                items.append(self.additive())
                self.loc.pop()
                if self.accept_op("]"):
                    break
                self.expect_op(",")
        return t.ListExpr(items, tok)

    def map_literal(self):
        tok = self.expect_op("{")
        pairs = []
        if not self.accept_op("}"):
            while True:
                key = self.next()
                if key.kind != STRING:
                    raise malformed("Unexpected term")
                self.expect_op(":")
                self.loc.append(f".{key.value}")
                pairs.append((key.value, self.additive()))
                self.loc.pop()
                if self.accept_op("}"):
                    break
                self.expect_op(",")
        return t.MapExpr(pairs, tok)

    def bag_literal(self):
        tok = self.expect_op("<<")
        items = []
        if self.accept_op(">>"):
            raise ValidationException("Empty bags are not supported")
        while True:
            items.append(self.additive())
            if self.accept_op(">>"):
                break
            self.expect_op(",")
        return t.BagExpr(items, tok)


#: PartiQL type names after IS -> the DynamoDB types they match (None: NULL / MISSING handled apart)
TYPE_NAMES = {
    "NULL": None, "MISSING": None,
    "BOOL": ("BOOL",), "BOOLEAN": ("BOOL",),
    "STRING": ("S",), "VARCHAR": ("S",), "CHAR": ("S",), "SYMBOL": ("S",),
    "INT": ("N",), "INTEGER": ("N",), "INT2": ("N",), "INT4": ("N",), "INT8": ("N",), "SMALLINT": ("N",),
    "BIGINT": ("N",), "DECIMAL": ("N",), "NUMERIC": ("N",), "FLOAT": ("N",), "REAL": ("N",),
    "DOUBLE PRECISION": ("N",), "NUMBER": ("N",),
    "BLOB": ("B",), "CLOB": ("B",),
    "LIST": ("L",), "SEXP": ("L",), "STRUCT": ("M",), "TUPLE": ("M",),
    "BAG": ("SS", "NS", "BS"),
}
