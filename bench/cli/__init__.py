"""Command line: argument parsing, one module per command."""
