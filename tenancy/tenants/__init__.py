"""Tenants: the organizations whose cabinets the platform hosts, and their hierarchy."""
