"""Storage: engines, the unit of work, table definitions, migrations and driver-error normalisation."""
