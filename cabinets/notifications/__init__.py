"""Notifications: the outbox written with each message event, and its delivery by e-mail and
signed webhooks (at least once; receivers dedupe by event id)."""
