"""The workflow's staff actions: one table (``table.ACTIONS``) binds each action's transition to
its typed input and its handler; ``perform`` carries any of them out."""
