"""Presenting results: terminal summaries now, HTML and PNG reports later."""
