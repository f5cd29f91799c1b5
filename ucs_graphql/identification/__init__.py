"""Identification keys as indexes: entries kept with every write, and customer identification."""
