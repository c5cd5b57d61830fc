"""The DynamoDB wire face: HTTP server, JSON codec, SigV4 verification.

``handler.RequestHandler`` is the one function both the HTTP server
(``app.py``) and the in-process boto3 hook (``kvstore.testing``) call:
headers + body bytes in, status + headers + body bytes out.  ``wire.py``
converts DynamoDB JSON to the native requests ``kvstore.operations`` takes and
back; ``auth.py`` verifies SigV4 signatures; ``main.py`` is ``kvstore serve``.

Nothing is imported here so ``kvstore serve`` starts fast.
"""
