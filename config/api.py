"""The REST API's router: every app's viewsets under /api/v1/. It lives in config so that
no app imports another's API (reports builds on the registry; the registry knows nothing
of reports)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from registry.api import auth, incidents, jobs, tlog, views
from reports.api import ReportViewSet

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet)
router.register("releases", views.ModelReleaseViewSet)
router.register("artifacts", views.ModelArtifactViewSet)
router.register("benchmarks", views.BenchmarkViewSet)
router.register("datasets", views.VoteDatasetViewSet)
router.register("claims", views.BenchmarkClaimViewSet)
router.register("incidents", incidents.IncidentViewSet, basename="cloningincident")
router.register("evidence", incidents.EvidenceViewSet, basename="evidence")
router.register("analyses", views.FragilityAnalysisViewSet)
router.register("jobs", jobs.ComputationJobViewSet, basename="computationjob")
router.register("ledger", views.LedgerEntryViewSet, basename="ledgerentry")
router.register("reports", ReportViewSet, basename="report")
router.register("decisions", incidents.DecisionViewSet, basename="incidentdecision")
router.register("commitments", incidents.CommitmentViewSet, basename="commitment")

# The log's few routes first: proof requests are the API's most frequent, and Django tries
# patterns in order (each miss among the router's hundred costs a little).
urlpatterns = [
    *tlog.urlpatterns,
    path("auth/token/", auth.TokenView.as_view(), name="auth-token"),
    *router.urls,
]
