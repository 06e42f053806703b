"""Business actions of the contracts app (catalogue seeding, registry sync, datasets)."""
