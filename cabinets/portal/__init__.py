"""The citizen's side of the platform: the front page, the organization directory, citizens'
accounts and their cabinet ``/my``, notification choices, personal data and the accessible
version."""
