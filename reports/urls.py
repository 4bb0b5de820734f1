from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("<int:pk>/countersign/", views.countersign, name="countersign"),
]
