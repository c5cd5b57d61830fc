"""kvstore: an embedded key-value store with DynamoDB's API and semantics."""
