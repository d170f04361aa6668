"""Attachment storage: object stores (S3/MinIO or a local directory), validation of uploaded
files by content, image metadata removal, optional virus scanning, signed links.

This package imports nothing else of the application; its caller passes in the configuration
and keeps the attachment metadata rows.
"""
