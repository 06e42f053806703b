"""Django admin of the data layer: teams with their members, projects, and datasets with their files.

Every add, change and delete here is a call of the app's services, so the rules of the API hold for
admins too; a refusal shows on the form or as an error message (``service_admin``).
"""

from workspaces.admin import datasets, teams  # noqa: F401  (importing the modules registers the pages)
