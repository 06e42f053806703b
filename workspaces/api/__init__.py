"""HTTP API of the data layer."""
