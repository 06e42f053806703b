"""HTTP API of the catalogue, datasets, job types and job contracts."""
