"""Attachments: an S3-compatible backend and a local-disk backend. Imports nothing else of ours."""
