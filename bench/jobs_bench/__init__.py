"""Parts of bench/jobs.py: the in-process measurements (time, SQL statements, cProfile of ``run_job``) and
the targets table of issue 14."""
