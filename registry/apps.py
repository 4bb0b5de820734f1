import csv
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Evidence registry"

    def ready(self) -> None:
        # Permissions only exist after post_migrate, so the role groups are kept
        # in step there rather than in a data migration.
        post_migrate.connect(_ensure_role_groups, sender=self)
        # The csv module refuses fields over 131,072 characters by default; an uploaded
        # file may be as large as the upload limit, so may one of its fields.
        largest = max(
            settings.REGISTRY_MAX_UPLOAD_BYTES, settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES
        )
        csv.field_size_limit(max(csv.field_size_limit(), largest))


def _ensure_role_groups(**kwargs: Any) -> None:
    from registry.permissions_setup import ensure_role_groups

    ensure_role_groups(using=kwargs.get("using", "default"))
