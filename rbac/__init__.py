"""Who may do what: identities and permissions. Imports nothing else of ours."""
