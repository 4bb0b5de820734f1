import pytest
from django.conf import settings

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# SQLite's in-memory test database serialises writers with a table lock, so
# true concurrency can only be exercised on PostgreSQL (CI runs both).
requires_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL")
