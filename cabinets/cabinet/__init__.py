"""The staff cabinet's pages: the organizations one serves, each one's inbox with its views,
filters and bulk actions, a supervisor's roll-up, the live stream of changes, and the message
card with a form for every action the workflow allows the person now."""
