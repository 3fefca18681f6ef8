"""Voice conversations: speech in and out of the same chat turns as typed messages."""
