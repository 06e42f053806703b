"""The UFDL data layer: teams and their memberships, projects, and the datasets of every domain."""
