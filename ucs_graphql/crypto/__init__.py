"""Field-level encryption of attributes whose schema says `encrypt: true`."""
