"""The staff inbox: its shapes, keyset cursor, queries, counts and a supervisor's roll-up."""
