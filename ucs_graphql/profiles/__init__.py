"""Customer profiles: attributes, extension records, identification and merge."""
