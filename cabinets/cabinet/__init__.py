"""The staff cabinet's pages: the organizations one serves, each one's inbox with its views,
filters and bulk actions, a supervisor's roll-up, and the live stream of changes."""
