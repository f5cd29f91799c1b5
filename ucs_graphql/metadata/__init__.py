"""Schema metadata: profile attributes, extension schemas, identification keys, business attributes, roles."""
