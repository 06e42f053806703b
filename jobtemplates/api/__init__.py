"""HTTP API of job templates, jobs and job outputs."""
