"""Customer journeys: services, their states and tasks, their extensions and live events."""
