"""Recursive-descent parser for condition, update and projection expressions.

The grammar is in :mod:`kvstore.expressions.tree`.  Two places need more than
one token of lookahead, exactly where DynamoDB's ANTLR parser predicts:

* a ``(`` that starts a condition may open a grouped condition ``(a = :v)``
  or a parenthesised operand ``(a) = :v``; a function call may be a condition
  ``begins_with(a, :p)`` or an operand ``size(a) > :n``.  The token after the
  matching ``)`` decides (a comparator, IN or BETWEEN means "operand");
* a ``(`` that starts an update SET value may open ``(a + :n)`` or ``(a)``.

If the predicted alternative fails the other one is tried, and when both fail
the error furthest into the text is reported, as ANTLR's prediction does.
Errors are :class:`ExpressionError` with DynamoDB's text: ``Syntax error;
token: "x", near: "..."`` or ``The expression has redundant parentheses;``
(raised when the second of two directly nested pairs closes).
"""

from kvstore.expressions.messages import ExpressionError, detail
from kvstore.expressions.tokens import EOF, syntax_error_message, tokenize
from kvstore.expressions.tree import (
    Action, And, Arith, Between, Call, Compare, Group, In, NameRef, Not, Or, Paren, Path, ValueRef,
)

__all__ = ["parse_condition", "parse_update", "parse_projection", "MAX_PAREN_DEPTH"]

#: Deeper nesting cannot be a valid expression under the 300-operator limit;
#: it is rejected before parsing, with the error DynamoDB gives (too many
#: operators, or redundant parentheses).  That bounds the parser's recursion
#: without touching the interpreter's recursion limit: a nesting level costs
#: at most two Python frames here (condition and negation; operand, or
#: operand and call; set_value), and at most two in the checks, the binder
#: and evaluation that walk the tree afterwards, so the deepest expression
#: the parser accepts needs about 600 frames beyond the caller's, under
#: Python's default limit of 1000 (tests/expressions/test_depth.py pins it).
MAX_PAREN_DEPTH = 300

_COMPARATORS = frozenset(("=", "<>", "<", "<=", ">", ">="))
_OPERAND_FOLLOW = _COMPARATORS | {"IN", "BETWEEN"}
_SECTIONS = frozenset(("SET", "REMOVE", "ADD", "DELETE"))
_REDUNDANT = "The expression has redundant parentheses;"


class _Syntax(Exception):
    """A syntax error at token ``index``."""

    def __init__(self, index):
        self.index = index


class _Redundant(Exception):
    pass


class _Parser:
    def __init__(self, text):
        self.text = text
        self.tokens = tokenize(text)
        self.kinds = [t.kind for t in self.tokens]
        self.i = 0
        self.memo = {}
        self.closing = self._match_parentheses()

    # -- helpers ---------------------------------------------------------

    def _match_parentheses(self):
        closing = {}
        stack = []
        deepest = 0
        for i, k in enumerate(self.kinds):
            if k == "(":
                stack.append(i)
                if len(stack) > deepest:
                    deepest = len(stack)
            elif k == ")" and stack:
                closing[stack.pop()] = i
        if deepest > MAX_PAREN_DEPTH:
            self._too_deep(closing)
        return closing

    def _too_deep(self, closing):
        """Nesting no valid expression reaches: name the problem DynamoDB would find first."""
        kinds = self.kinds
        for opening, close in sorted(closing.items(), key=lambda p: p[1]):
            if (kinds[opening + 1] == "(" and closing.get(opening + 1) == close - 1
                    and not (opening > 0 and kinds[opening - 1] == "ID")):
                raise _Redundant()
        raise ExpressionError(detail("The expression contains too many operators", ("operator count", 301)))

    def expect(self, kind):
        if self.kinds[self.i] != kind:
            raise _Syntax(self.i)
        self.i += 1

    def closed(self, inner, kind):
        """``inner`` wrapped in ``kind`` (Group or Paren) once its ``)`` is there; ``((x))`` is redundant.

        Called after the nested parse returns, so it adds no frame to a nesting level.
        """
        self.expect(")")
        if type(inner) is kind:
            raise _Redundant()
        return kind(inner)

    def alt(self, first, second):
        start = self.i
        try:
            return first()
        except _Syntax as e1:
            self.i = start
            try:
                return second()
            except _Syntax as e2:
                raise e2 if e2.index > e1.index else e1 from None

    def followed_by_operator(self, opening, kinds):
        close = self.closing.get(opening)
        return close is not None and self.kinds[close + 1] in kinds

    # -- conditions --------------------------------------------------------

    def condition(self):
        """``disjunction ::= conjunction { OR conjunction }``, ``conjunction ::= negation { AND negation }``.

        Both loops in one frame: a nested group costs this frame and negation's.
        """
        kinds = self.kinds
        items = []
        while True:
            node = self.negation()
            if kinds[self.i] == "AND":
                conjuncts = [node]
                while kinds[self.i] == "AND":
                    self.i += 1
                    conjuncts.append(self.negation())
                node = And(conjuncts)
            items.append(node)
            if kinds[self.i] != "OR":
                return items[0] if len(items) == 1 else Or(items)
            self.i += 1

    def negation(self):
        """``negation ::= { NOT } primary``, ``primary ::= "(" condition ")" | predicate | function``.

        The primary is memoized by its position.  A ``(`` may open a group or
        a parenthesised operand: the token after the matching ``)`` predicts
        which, the other is tried if it fails, and the error furthest into
        the text wins (see the module docstring).  The group is parsed here,
        not in a helper, so that a nesting level costs two frames (this one
        and condition's).
        """
        kinds = self.kinds
        count = 0
        while kinds[self.i] == "NOT":
            count += 1
            self.i += 1
        start = self.i
        memo = self.memo.get(start)
        if memo is not None:
            node, end, error = memo
            if error is not None:
                raise error
            self.i = end
            return Not(node, count) if count else node
        try:
            if kinds[start] != "(":
                node = self.unparenthesised()
            else:
                order = (False, True) if self.followed_by_operator(start, _OPERAND_FOLLOW) else (True, False)
                error = None
                for group in order:
                    self.i = start
                    try:
                        if group:
                            self.i += 1
                            node = self.closed(self.condition(), Group)
                        else:
                            node = self.predicate()
                        break
                    except _Syntax as e:
                        if error is None or e.index > error.index:
                            error = e
                else:
                    raise error
        except _Syntax as e:
            self.memo[start] = (None, None, e)
            raise
        self.memo[start] = (node, self.i, None)
        return Not(node, count) if count else node

    def unparenthesised(self):
        """A primary that does not start with ``(``: a predicate, or a function that is a condition."""
        kinds, i = self.kinds, self.i
        if kinds[i] == "ID" and kinds[i + 1] == "(":
            if self.followed_by_operator(i + 1, _OPERAND_FOLLOW):
                return self.alt(self.predicate, self.call)
            return self.alt(self.call, self.predicate)
        return self.predicate()

    def predicate(self):
        left = self.operand()
        kinds = self.kinds
        k = kinds[self.i]
        if k in _COMPARATORS:
            self.i += 1
            return Compare(k, left, self.operand())
        if k == "IN":
            self.i += 1
            self.expect("(")
            items = [self.operand()]
            while kinds[self.i] == ",":
                self.i += 1
                items.append(self.operand())
            self.expect(")")
            return In(left, items)
        if k == "BETWEEN":
            self.i += 1
            low = self.operand()
            self.expect("AND")
            return Between(left, low, self.operand())
        raise _Syntax(self.i)

    # -- operands ----------------------------------------------------------

    def operand(self):
        kinds, i = self.kinds, self.i
        k = kinds[i]
        if k == "(":
            self.i += 1
            return self.closed(self.operand(), Paren)
        if k == "ID":
            if kinds[i + 1] == "(":
                return self.call()
            return self.path()
        if k == "NAME":
            return self.path()
        if k == "VALUE":
            self.i += 1
            return ValueRef(self.tokens[i].text)
        raise _Syntax(i)

    def call(self):
        """``function ::= ID "(" operand { "," operand } ")"``"""
        name = self.tokens[self.i].text
        self.i += 1
        self.expect("(")
        args = [self.operand()]
        while self.kinds[self.i] == ",":
            self.i += 1
            args.append(self.operand())
        self.expect(")")
        return Call(name, args)

    def path(self):
        kinds, tokens = self.kinds, self.tokens
        i = self.i
        k = kinds[i]
        if k == "ID":
            elements = [tokens[i].text]
        elif k == "NAME":
            elements = [NameRef(tokens[i].text)]
        else:
            raise _Syntax(i)
        i += 1
        while True:
            k = kinds[i]
            if k == ".":
                k = kinds[i + 1]
                if k == "ID":
                    elements.append(tokens[i + 1].text)
                elif k == "NAME":
                    elements.append(NameRef(tokens[i + 1].text))
                else:
                    raise _Syntax(i + 1)
                i += 2
            elif k == "[":
                if kinds[i + 1] != "INDEX":
                    raise _Syntax(i + 1)
                if kinds[i + 2] != "]":
                    raise _Syntax(i + 2)
                elements.append(int(tokens[i + 1].text))
                i += 3
            else:
                break
        self.i = i
        return Path(tuple(elements))

    # -- updates -----------------------------------------------------------

    def update(self):
        """``update ::= section { section }``; returns ``(actions, sections)``.

        ``sections`` lists ``(keyword, first action, end action)`` in order.
        """
        kinds = self.kinds
        actions, sections = [], []
        while kinds[self.i] in _SECTIONS:
            keyword = kinds[self.i]
            self.i += 1
            first = len(actions)
            actions.append(self.action(keyword))
            while kinds[self.i] == ",":
                self.i += 1
                actions.append(self.action(keyword))
            sections.append((keyword, first, len(actions)))
        if not sections:
            raise _Syntax(self.i)
        self.expect(EOF)
        return actions, sections

    def action(self, keyword):
        path = self.path()
        if keyword == "SET":
            self.expect("=")
            return Action("SET", path, self.set_value())
        if keyword == "REMOVE":
            return Action("REMOVE", path, None)
        if self.kinds[self.i] != "VALUE":
            raise _Syntax(self.i)
        value = ValueRef(self.tokens[self.i].text)
        self.i += 1
        return Action(keyword, path, value)

    def set_value(self):
        """``set_value ::= operand | operand ("+"|"-") operand | "(" set_value ")"``

        After ``(`` the token after the matching ``)`` predicts arithmetic or
        a parenthesised value; the other is tried if it fails (the furthest
        error wins).  The parenthesised value is parsed here: one frame a level.
        """
        start = self.i
        if self.kinds[start] != "(":
            return self.arithmetic()
        order = (False, True) if self.followed_by_operator(start, ("+", "-")) else (True, False)
        error = None
        for parenthesised in order:
            self.i = start
            try:
                if not parenthesised:
                    return self.arithmetic()
                self.i += 1
                return self.closed(self.set_value(), Paren)
            except _Syntax as e:
                if error is None or e.index > error.index:
                    error = e
        raise error

    def arithmetic(self):
        left = self.operand()
        k = self.kinds[self.i]
        if k == "+" or k == "-":
            self.i += 1
            return Arith(k, left, self.operand())
        return left

    # -- projections -------------------------------------------------------

    def projection(self):
        paths = [self.path()]
        while self.kinds[self.i] == ",":
            self.i += 1
            paths.append(self.path())
        self.expect(EOF)
        return paths


def _run(text, rule):
    parser = None
    try:
        parser = _Parser(text)
        return rule(parser)
    except _Syntax as e:
        raise ExpressionError(syntax_error_message(text, parser.tokens, e.index)) from None
    except _Redundant:
        raise ExpressionError(_REDUNDANT) from None


def _condition_rule(p):
    node = p.condition()
    p.expect(EOF)
    return node


def parse_condition(text):
    """Syntax tree of a condition / filter / key-condition expression."""
    return _run(text, _condition_rule)


def parse_update(text):
    """``(actions, sections)`` of an update expression."""
    return _run(text, _Parser.update)


def parse_projection(text):
    """List of :class:`Path` of a projection expression."""
    return _run(text, _Parser.projection)
