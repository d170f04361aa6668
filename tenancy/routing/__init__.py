"""Territories, the topic catalog and the routing table that maps them to tenants."""
