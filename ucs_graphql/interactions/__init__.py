"""Interactions: ingestion of multimedia interactions and their queries (CV.WS.IXN.2)."""
