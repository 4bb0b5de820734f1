from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("claims/<int:pk>/", views.claim_detail, name="claim"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident"),
]
