"""Scenarios do something to the page and say when it is done."""
