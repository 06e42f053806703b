"""Business actions of job templates and jobs."""
