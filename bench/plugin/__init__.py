"""Measuring inside a team's own pytest suite: the chat_bench fixture's object and its results."""
