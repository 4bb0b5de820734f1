from django.urls import path

from registry import downloads, views

app_name = "registry"

urlpatterns = [
    path("", views.home, name="home"),
    path("organizations/", views.organizations, name="organizations"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization"),
    path(
        "organizations/<int:pk>/history/", views.organization_history, name="organization-history"
    ),
    path("releases/", views.releases, name="releases"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/history/", views.release_history, name="release-history"),
    path("benchmarks/", views.benchmarks, name="benchmarks"),
    path("benchmarks/<int:pk>/", views.benchmark_detail, name="benchmark"),
    path("benchmarks/<int:pk>/history/", views.benchmark_history, name="benchmark-history"),
    path("datasets/", views.datasets, name="datasets"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/history/", views.dataset_history, name="dataset-history"),
    path("datasets/<int:pk>/download/", downloads.dataset_download, name="dataset-download"),
    path("claims/", views.claims, name="claims"),
    path("claims/<int:pk>/", views.claim_detail, name="claim"),
    path("claims/<int:pk>/history/", views.claim_history, name="claim-history"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
    path("incidents/<int:pk>/history/", views.incident_history, name="incident-history"),
    path(
        "analyses/<int:pk>/dropped-votes/<str:flip>.csv",
        downloads.dropped_votes_csv,
        name="dropped-votes",
    ),
    path("log/", views.transparency_log, name="transparency-log"),
]
