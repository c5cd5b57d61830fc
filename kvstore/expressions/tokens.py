"""Lexical analysis shared by every expression kind.

DynamoDB's lexer (one grammar for conditions, updates and projections) knows
these tokens; anything else becomes a one-character ``UNKNOWN`` token, so a
stray character is reported by the parser as ``Syntax error; token: "!"``::

    WS        [ \\t\\r\\n]+                     (skipped, but kept for "near")
    INDEX     0 | [1-9][0-9]*                 ("007" is three INDEX tokens)
    ID        [A-Za-z][A-Za-z0-9_]*           (keywords win when the whole word matches)
    NAME      # [A-Za-z0-9_]+                 (ExpressionAttributeNames placeholder)
    VALUE     : [A-Za-z0-9_]+                 (ExpressionAttributeValues placeholder)
    keywords  IN BETWEEN NOT AND OR SET ADD DELETE REMOVE   (case-insensitive)
    symbols   = <> < <= > >= + - ( ) , . [ ]

Keywords are never attribute names: ``SET remove = :v`` is a syntax error.
"""

import re

__all__ = ["Token", "tokenize", "KEYWORDS", "EOF", "syntax_error_message"]

KEYWORDS = frozenset(("IN", "BETWEEN", "NOT", "AND", "OR", "SET", "ADD", "DELETE", "REMOVE"))
EOF = "EOF"

_TOKEN_RE = re.compile(
    r"(?P<ws>[ \t\n\r]+)"
    r"|(?P<INDEX>0|[1-9][0-9]*)"
    r"|(?P<ID>[A-Za-z][A-Za-z0-9_]*)"
    r"|(?P<NAME>\#[A-Za-z0-9_]+)"
    r"|(?P<VALUE>:[A-Za-z0-9_]+)"
    r"|(?P<sym><>|<=|>=|[=<>+\-(),.\[\]])"
    r"|(?P<UNKNOWN>.)",
    re.S,
)


class Token:
    """One token: ``kind`` (ID, NAME, VALUE, INDEX, a keyword, a symbol, UNKNOWN, EOF), text, span."""

    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind, text, start, end):
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end

    def __repr__(self):
        return f"Token({self.kind}, {self.text!r}, {self.start})"


def tokenize(text):
    """The tokens of ``text``, ending with an EOF token; whitespace is dropped."""
    tokens = []
    append = tokens.append
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "ws":
            continue
        value = m.group()
        if kind == "sym":
            kind = value
        elif kind == "ID":
            upper = value.upper()
            if upper in KEYWORDS:
                kind = upper
        append(Token(kind, value, m.start(), m.end()))
    append(Token(EOF, "", len(text), len(text)))
    return tokens


def syntax_error_message(text, tokens, i):
    """DynamoDB's ``Syntax error; token: "<tok>", near: "<prev tok next>"`` for token ``i``.

    "near" is the previous token, the offending token and the next one with
    the whitespace between them, cut from the source (the EOF token prints as
    ``<EOF>`` in "token" and as nothing in "near").
    """
    tok = tokens[i]
    start = tokens[i - 1].start if i > 0 else 0
    if tok.kind == EOF:
        end = len(text)
        shown = "<EOF>"
    else:
        nxt = tokens[i + 1]
        end = len(text) if nxt.kind == EOF else nxt.end
        shown = tok.text
    return f'Syntax error; token: "{shown}", near: "{text[start:end]}"'
