"""CORS (browser clients) as DynamoDB answers it.

What DynamoDB does, as pinned by ScyllaDB Alternator's ``test_cors.py`` (run
against AWS too) and the header list Alternator copies from DynamoDB:

* a request without ``Origin`` gets no CORS header at all;
* a request with ``Origin`` gets ``Access-Control-Allow-Origin: *`` and
  ``Access-Control-Expose-Headers: x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date``
  on every answer (successes and errors alike; ``x-amz-crc32`` is not exposed,
  which is why browser SDKs skip the CRC check);
* a preflight (``OPTIONS`` with ``Origin``) also echoes
  ``Access-Control-Request-Method`` as ``Access-Control-Allow-Methods`` and
  ``Access-Control-Request-Headers`` as ``Access-Control-Allow-Headers``, and
  carries ``Access-Control-Max-Age``; other methods never carry those three.

The Max-Age value is 172800 s (two days), what AWS's JSON services send; DynamoDB's own
value is not pinned anywhere public (docs/compatibility.md).  Like DynamoDB
Local's ``-cors``, the allowed origins are ``*`` (the default) or a list: a
listed origin is echoed (with ``Vary: Origin``), any other gets no CORS header,
so the browser refuses the answer.
"""

__all__ = ["Cors", "EXPOSE_HEADERS", "MAX_AGE"]

EXPOSE_HEADERS = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"
MAX_AGE = 172800


class Cors:
    """The CORS policy of a server: ``Cors("*")``, ``Cors(["https://app.example"])``."""

    def __init__(self, origins="*"):
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        if not origins:
            raise ValueError("CORS needs '*' or at least one origin")
        self.any = "*" in origins
        self.origins = frozenset(origins)
        self._any_lines = (f"Access-Control-Allow-Origin: *\r\n"
                           f"Access-Control-Expose-Headers: {EXPOSE_HEADERS}\r\n")

    def __repr__(self):
        return f"Cors({'*' if self.any else sorted(self.origins)!r})"

    def lines(self, headers, preflight=False):
        """The CORS header lines (``str``, CRLF-terminated) of the answer to a request with these headers."""
        origin = headers.get("origin")
        if origin is None:
            return ""
        if self.any:
            lines = self._any_lines
        elif origin in self.origins:
            lines = (f"Access-Control-Allow-Origin: {origin}\r\nVary: Origin\r\n"
                     f"Access-Control-Expose-Headers: {EXPOSE_HEADERS}\r\n")
        else:
            return ""
        if preflight:
            method = headers.get("access-control-request-method")
            if method:
                lines += f"Access-Control-Allow-Methods: {method}\r\n"
            requested = headers.get("access-control-request-headers")
            if requested:
                lines += f"Access-Control-Allow-Headers: {requested}\r\n"
            lines += f"Access-Control-Max-Age: {MAX_AGE}\r\n"
        return lines
