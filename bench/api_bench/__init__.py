"""The parts of bench/api.py: the server (server), the HTTP clients and wrk (client), what it measures on
(fixtures) and what it prints (report)."""
