"""Analyses: free functions on Results or plain tables; never import the engine."""
