from rest_framework.routers import DefaultRouter

from registry.api import views
from reports.api import ReportViewSet

router = DefaultRouter()
router.register("organizations", views.OrganizationViewSet)
router.register("releases", views.ModelReleaseViewSet)
router.register("artifacts", views.ModelArtifactViewSet)
router.register("benchmarks", views.BenchmarkViewSet)
router.register("datasets", views.VoteDatasetViewSet)
router.register("claims", views.BenchmarkClaimViewSet)
router.register("incidents", views.CloningIncidentViewSet, basename="cloningincident")
router.register("evidence", views.EvidenceViewSet, basename="evidence")
router.register("analyses", views.FragilityAnalysisViewSet)
router.register("ledger", views.LedgerEntryViewSet, basename="ledgerentry")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = router.urls
