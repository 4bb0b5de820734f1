from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.reports, name="list"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/history/", views.report_history, name="history"),
    path("verify/", views.verify, name="verify"),
    path("<int:pk>/countersign/", views.countersign, name="countersign"),
]
