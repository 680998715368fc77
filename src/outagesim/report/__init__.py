"""Presenting results: the terminal summary (terminal.py) and the offline HTML report with its PNGs."""
