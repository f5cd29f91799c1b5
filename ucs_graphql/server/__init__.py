"""Server operations: status counters and the production/maintenance mode."""
