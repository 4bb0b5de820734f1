from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from registry.login_throttle import admin_login

urlpatterns = [
    # Before the admin's own URLs: its sign-in with a limit on failed attempts.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # The split view serves Swagger UI's start-up script as a file: no inline script.
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="swagger-ui",
    ),
    path("api/v1/", include("config.api")),
    path("reports/", include("reports.urls")),
    path("", include("registry.urls")),
]

# Under /api/, a URL no route matches (and an unhandled error) answers in the API's JSON
# error format; elsewhere, the site's pages.
handler404 = "registry.api.exceptions.page_not_found"
handler500 = "registry.api.exceptions.server_error"
