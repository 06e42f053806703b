"""Business actions of the data layer: teams, memberships and projects (``teams``), datasets (``datasets``)."""
