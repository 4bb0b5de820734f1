"""Django's admin app with the registry's site as ``admin.site`` (INSTALLED_APPS names it).

Its own module: next to ``RegistryConfig`` in ``registry.apps`` it would make that module
declare two default app configs.
"""

from django.contrib.admin.apps import AdminConfig


class RegistryAdminConfig(AdminConfig):
    """The admin, its index grouped by area (``registry.admin_site``)."""

    default_site = "registry.admin_site.RegistryAdminSite"
