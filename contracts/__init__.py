"""Types, contracts and the catalogue their server-resident types point at."""
