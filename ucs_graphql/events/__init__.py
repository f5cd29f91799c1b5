"""Live events for subscriptions: an in-process bus, or PostgreSQL LISTEN/NOTIFY across workers."""
