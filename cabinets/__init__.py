"""The work inside a tenant: messages, workflow, the web app and the background worker."""
