"""Datasets move to the workspaces app (teams → projects → datasets): only the migration state changes
here; the tables are adopted by workspaces' first migration and renamed by its second."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0003_docker_image_cuda_required"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DatasetFile"),
                migrations.DeleteModel(name="Dataset"),
            ],
            database_operations=[],
        ),
    ]
