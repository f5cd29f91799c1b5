"""Domain-free helpers shared by every context: errors, names, time formats, JSON."""
