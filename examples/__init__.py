"""Runnable services whose data layer is kvstore (see each folder's README)."""
