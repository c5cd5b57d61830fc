"""PartiQL tokens: the lexical rules of DynamoDB's dialect.

Keywords are case-insensitive; ``"..."`` is always a name and ``'...'`` always
a string (a doubled quote escapes itself); ``--`` comments run to the end of
the line and ``/* */`` comments sit between tokens; ``#`` is no comment.
Every token keeps its position so errors can say ``at line:column:length``.
Tokenising is linear in the statement's length.
"""

import re

from kvstore.partiql.errors import malformed

#: token kinds
NAME, QNAME, STRING, NUMBER, OP, PARAM, END = "name", "qname", "string", "number", "op", "param", "end"

_SPACE = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)+", re.S)
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPS = ("<<", ">>", "<>", "!=", "<=", ">=", "||", "=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":",
        ";", "*", "+", "-", "/", "%")


class Token:
    __slots__ = ("kind", "text", "value", "line", "column", "length")

    def __init__(self, kind, text, value, line, column, length):
        self.kind = kind
        self.text = text          # upper-cased for names and operators (keyword tests), as written otherwise
        self.value = value        # the name, string or number text as it stands in the statement
        self.line = line
        self.column = column
        self.length = length

    @property
    def position(self):
        return f"{self.line}:{self.column}:{self.length}"

    def __repr__(self):
        return f"Token({self.kind}, {self.value!r} at {self.position})"


def tokenize(text):
    """The tokens of ``text``, ending with an END token; malformed input raises the not-well-formed error."""
    tokens = []
    i, n = 0, len(text)
    line, line_start = 1, 0

    def at(start, length):
        return line, start - line_start + 1, length

    while True:
        m = _SPACE.match(text, i)
        if m:
            chunk = m.group()
            newlines = chunk.count("\n")
            if newlines:
                line += newlines
                line_start = i + chunk.rindex("\n") + 1
            i = m.end()
        if i >= n:
            break
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            raise malformed()                             # an unterminated comment
        if c == "'" or c == '"':
            j, parts = i + 1, []
            while True:
                k = text.find(c, j)
                if k < 0:
                    raise malformed()                     # an unterminated quote
                parts.append(text[j:k])
                if text.startswith(c, k + 1):
                    parts.append(c)
                    j = k + 2
                    continue
                break
            value = "".join(parts)
            kind = STRING if c == "'" else QNAME
            tokens.append(Token(kind, value, value, *at(i, k + 1 - i)))
            newlines = text.count("\n", i, k + 1)
            if newlines:
                line += newlines
                line_start = text.rindex("\n", i, k + 1) + 1
            i = k + 1
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group()
            tokens.append(Token(NAME, word.upper(), word, *at(i, len(word))))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m and (c != "." or m.end() > i + 1):
            word = m.group()
            tokens.append(Token(NUMBER, word, word, *at(i, len(word))))
            i = m.end()
            continue
        if c == "?":
            tokens.append(Token(PARAM, "?", "?", *at(i, 1)))
            i += 1
            continue
        for op in _OPS:
            if text.startswith(op, i):
                tokens.append(Token(OP, op, op, *at(i, len(op))))
                i += len(op)
                break
        else:
            raise malformed()                             # '#', '@', '`', ... start no token
    tokens.append(Token(END, "", "", *at(n, 0)))
    return tokens
