"""Extension records of profiles, services, states and tasks: one store, validated against schemas."""
