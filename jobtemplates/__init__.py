"""Job templates (workable and meta), jobs and job outputs."""
