"""Settings for the Evidence Registry, read from the environment.

Development defaults are obviously development: SQLite and kombu's filesystem
transport under ``var/``. Production (``DEBUG`` off, outside the test runner)
refuses to start without a secret key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("REGISTRY_VAR_DIR") or BASE_DIR / "var").resolve()

# pytest sets PYTEST_VERSION for the whole session (pytest >= 8.2); the test
# suite gets an in-memory broker and a throwaway key without any set-up.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")
    SECRET_KEY = "development-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin, with the registry's index grouped by area.
    "registry.admin_apps.RegistryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # intcomma on the pages: 200,000 votes, not 200000.
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "registry",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Body size and JSON depth limits, answered in the API's error format (413/400).
    "registry.request_limits.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.csp",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        # Seconds a web or worker process keeps its connection (0: a new one per request);
        # a kept connection is checked before reuse, so a dropped one is replaced.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web server and the worker share one SQLite file: wait for the
    # writer lock instead of failing, and take it at BEGIN so a read that
    # turns into a write cannot deadlock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file, not shared-cache memory: tests that run a real Celery worker in a
    # thread need SQLite's file locking (which waits) instead of table locks (which fail).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if TESTING:
    # Hashing a password properly takes ~0.3 s by design; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploads: anything larger than this is refused with a 400 naming the limit.
REGISTRY_MAX_UPLOAD_BYTES = env_int("REGISTRY_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
# Vote datasets are larger: 10 million arena votes are ~300 MB of CSV. Uploads above
# FILE_UPLOAD_MAX_MEMORY_SIZE are streamed to a temporary file by Django, not held in memory.
REGISTRY_MAX_DATASET_UPLOAD_BYTES = env_int("REGISTRY_MAX_DATASET_UPLOAD_BYTES", 1024**3)
# The anonymous commitment check hashes in the request: a key set's canonical form costs
# ~0.3 s of CPU per MiB at worst (tiny keys), so 2 MiB keeps the check under a second.
# Larger material is hashed by its owner (the digest is public) or verified in a job.
REGISTRY_MAX_CHECK_BYTES = env_int("REGISTRY_MAX_CHECK_BYTES", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Every uploaded file is hashed while it streams in (registry/uploads.py); larger files
# stream to MEDIA_ROOT/incoming, beside the blobs, so storing one is a rename.
FILE_UPLOAD_HANDLERS = [
    "registry.uploads.HashingMemoryFileUploadHandler",
    "registry.uploads.HashingTemporaryFileUploadHandler",
]

LOGIN_URL = "admin:login"

# Transport security. The shipped deployment (docker/compose.yaml) terminates TLS
# in a reverse proxy that sets X-Forwarded-Proto; gunicorn itself speaks plain HTTP.
# Each of these is off until configured, because each is wrong for some deployment:
# trusting the header without a proxy that overwrites it lets any client claim
# HTTPS; redirecting to HTTPS where nobody serves it makes the site unreachable;
# HSTS (and more so preload) cannot be taken back once browsers have cached it.
REGISTRY_PLAIN_HTTP = env_bool("REGISTRY_PLAIN_HTTP", default=False)
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", default=False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if REGISTRY_PLAIN_HTTP and (SECURE_SSL_REDIRECT or SECURE_HSTS_SECONDS):
    raise ImproperlyConfigured(
        "REGISTRY_PLAIN_HTTP=1 serves plain HTTP: it cannot be combined with "
        "SECURE_SSL_REDIRECT or SECURE_HSTS_SECONDS."
    )
# Cookies travel only over HTTPS, unless this is development or plain HTTP was
# chosen explicitly (otherwise logging in over plain HTTP fails without a word).
SESSION_COOKIE_SECURE = not (DEBUG or TESTING or REGISTRY_PLAIN_HTTP)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (Django's own middleware). Pages load
# scripts and styles only from this server; the admin's few inline styles carry
# the per-request nonce. The API docs are served from here too (the sidecar).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Throttle counters and the admin login limiter live in the cache: give every web
# worker the same one (CACHE_URL=redis://host:6379/1) or each counts on its own.
# Tests get a cache that counts nothing; the throttling tests switch to a real one.
CACHE_URL = env_str("CACHE_URL") or ""
CACHES = {
    "default": (
        {"BACKEND": "registry.cache.RegistryRedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL.startswith(("redis://", "rediss://"))
        else {
            "BACKEND": (
                "django.core.cache.backends.dummy.DummyCache"
                if TESTING
                else "django.core.cache.backends.locmem.LocMemCache"
            )
        }
    )
}
if CACHE_URL and "LOCATION" not in CACHES["default"]:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://host:port/db")
# How many proxies append to X-Forwarded-For in front of gunicorn (1 with compose's).
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# Admin sign-in: after this many failures for one user name or one address within
# the window, further attempts get 429 until the window has passed.
ADMIN_LOGIN_FAILURES = env_int("ADMIN_LOGIN_FAILURES", 5)
ADMIN_LOGIN_WINDOW_SECONDS = env_int("ADMIN_LOGIN_WINDOW_SECONDS", 900)

# The pages' filter forms offer "Any" rather than a row of dashes for "no filter".
FILTERS_EMPTY_CHOICE_LABEL = "Any"

REST_FRAMEWORK = {
    # Token first: an unauthenticated write then gets 401 with a WWW-Authenticate
    # header (session authentication alone can only answer 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["registry.api.permissions.RegistryPermission"],
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.OrderedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's and DRF's own, except that they answer 400 for what they
        # cannot use (registry/api/query.py).
        "registry.api.query.StrictFilterBackend",
        "registry.api.query.StrictSearchFilter",
        "registry.api.query.StrictOrderingFilter",
    ],
    # Error responses, open reads, tags and summaries for every operation.
    "DEFAULT_SCHEMA_CLASS": "registry.api.schema.RegistryAutoSchema",
    "EXCEPTION_HANDLER": "registry.api.exceptions.exception_handler",
    # Request rates (registry/api/throttling.py); 429 with Retry-After beyond them.
    "DEFAULT_THROTTLE_CLASSES": [
        "registry.api.throttling.AnonThrottle",
        "registry.api.throttling.UserThrottle",
        "registry.api.throttling.HeavyWorkThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON") or "120/min",
        "user": env_str("THROTTLE_USER") or "1200/min",
        "uploads": env_str("THROTTLE_UPLOADS") or "60/hour",
        "verification": env_str("THROTTLE_VERIFICATION") or "30/min",
        "checks": env_str("THROTTLE_CHECKS") or "30/min",
    },
    # Behind the proxy, the client is the last X-Forwarded-For entry, not the proxy.
    "NUM_PROXIES": NUM_PROXIES or None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Evidence Registry API",
    "DESCRIPTION": (
        "Model releases, benchmark claims with fragility analyses, cloning incidents "
        "with their evidence, a hash-chained ledger and signed reports."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from this server (drf-spectacular-sidecar): no CDN, works offline,
    # and fits the Content-Security-Policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One tag per resource (registry/api/schema.py), in this order.
    "TAGS": [
        {"name": "auth", "description": "API tokens for scripts: `Authorization: Token <key>`."},
        {"name": "organizations", "description": "Developers, arena operators, standards bodies."},
        {"name": "releases", "description": "Model releases with declared lineage."},
        {"name": "artifacts", "description": "Artefact digests of a release."},
        {"name": "benchmarks", "description": "Arenas and static benchmarks."},
        {"name": "datasets", "description": "Uploaded vote files (never changed)."},
        {"name": "claims", "description": "Benchmark claims and their item-score analyses."},
        {"name": "analyses", "description": "Fragility analyses (queued jobs)."},
        {"name": "jobs", "description": "Queued computations: status, progress, result."},
        {"name": "incidents", "description": "Suspected cloning incidents and their workflow."},
        {"name": "evidence", "description": "Append-only evidence items and their files."},
        {"name": "decisions", "description": "Four-eyes decision proposals."},
        {"name": "commitments", "description": "Pre-registered digests, checked by anyone."},
        {"name": "reports", "description": "Signed PDF reports: request, poll, download, verify."},
        {"name": "ledger", "description": "The hash-chained ledger of every change."},
        {"name": "log", "description": "The transparency log: checkpoints and proofs."},
    ],
    # Several models have a "kind" or "status"; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "registry.models.Organization.Kind",
        "ArtifactKindEnum": "registry.models.ModelArtifact.Kind",
        "BenchmarkKindEnum": "registry.models.Benchmark.Kind",
        "ClaimKindEnum": "registry.models.BenchmarkClaim.Kind",
        "ClaimStatusEnum": "registry.models.BenchmarkClaim.Status",
        "IncidentStatusEnum": "registry.models.CloningIncident.Status",
        "AnalysisStatusEnum": "registry.models.FragilityAnalysis.Status",
        "ComputationJobKindEnum": "registry.models.ComputationJob.Kind",
        "EvidenceKindEnum": "registry.cloning.evidence_kinds.KIND_CHOICES",
        "ReportKindEnum": "reports.models.Report.Kind",
    },
}

# Celery. The embedded default needs no broker server: kombu's filesystem
# transport keeps messages in folders under var/ (absolute paths, so the web
# server and the worker agree whatever their working directory).
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ("memory://" if TESTING else "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu does not create its folders, and the first task may be sent before
    # any worker has started: make them here, for every process.
    for _folder in ("out", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Jobs (registry/jobs.py). A worker's claim on a job row is a lease it renews every
# third of JOB_LEASE_SECONDS while it computes; a row whose lease lapsed is claimed again
# (by the dead worker's redelivered message, or re-queued by the sweep every
# JOB_SWEEP_SECONDS). The dispatcher publishes every JOB_DISPATCH_SECONDS the rows a
# broker outage kept from being published, or whose message the broker lost. Every
# worker runs both from its main process (config/celery.py), not as beat tasks.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 30)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 10)
JOB_DISPATCH_SECONDS = env_int("JOB_DISPATCH_SECONDS", 5)
# How long the runner retries a write of its own (claim, progress, finish) on a broken
# database connection, reconnecting with backoff, before leaving the job to the retry.
JOB_RECONNECT_SECONDS = env_int("JOB_RECONNECT_SECONDS", 15)
if min(JOB_LEASE_SECONDS, JOB_SWEEP_SECONDS, JOB_DISPATCH_SECONDS) < 1:
    raise ImproperlyConfigured(
        "JOB_LEASE_SECONDS, JOB_SWEEP_SECONDS and JOB_DISPATCH_SECONDS are at least 1."
    )
CELERY_BEAT_SCHEDULE = {
    "issue-log-checkpoint": {
        "task": "registry.tasks.issue_checkpoint",
        "schedule": float(env_int("TLOG_CHECKPOINT_EVERY_SECONDS", 300)),
    },
    "renew-report-timestamps": {
        "task": "reports.tasks.renew_report_timestamps",
        "schedule": 86400.0,
    },
}

# Report signing (PAdES). Production names PEM files; with DEBUG on (or in tests)
# and none named, a development PKI is created under var/dev-pki, whose names say
# it is not to be trusted.
# The address the public reaches this registry at, printed (and drawn as a QR code) on
# every report as where to verify it. Reports are built by a worker, which has no request
# to take it from. Without it: the development server's address under DEBUG or in tests,
# else https:// and the first of ALLOWED_HOSTS (the site name in docker/compose.yaml).
REGISTRY_PUBLIC_URL = (
    env_str("REGISTRY_PUBLIC_URL")
    or ("http://127.0.0.1:8000" if DEBUG or TESTING else f"https://{ALLOWED_HOSTS[0]}")
).rstrip("/")
REPORT_SIGNING_KEY_FILE = env_str("REPORT_SIGNING_KEY_FILE") or ""
REPORT_SIGNING_CERT_FILE = env_str("REPORT_SIGNING_CERT_FILE") or ""
REPORT_SIGNING_CHAIN_FILE = env_str("REPORT_SIGNING_CHAIN_FILE") or ""
REPORT_TRUST_ROOTS_FILE = env_str("REPORT_TRUST_ROOTS_FILE") or ""
REPORT_TSA_URL = env_str("REPORT_TSA_URL") or ""
REPORT_DEV_PKI_DIR = VAR_DIR / "dev-pki"
# PAdES level: B-B, B-T, B-LT or B-LTA; empty means B-LTA with a TSA, else B-B.
REPORT_SIGNATURE_LEVEL = env_str("REPORT_SIGNATURE_LEVEL") or ""
# The standards body's countersigning identity, named like the registry's.
REPORT_COUNTERSIGNING_KEY_FILE = env_str("REPORT_COUNTERSIGNING_KEY_FILE") or ""
REPORT_COUNTERSIGNING_CERT_FILE = env_str("REPORT_COUNTERSIGNING_CERT_FILE") or ""
REPORT_COUNTERSIGNING_CHAIN_FILE = env_str("REPORT_COUNTERSIGNING_CHAIN_FILE") or ""
# Keys in a PKCS#11 token instead of key files: the module, then per identity the token
# (label, or slot number), the key label and a file holding the PIN.
REPORT_PKCS11_MODULE = env_str("REPORT_PKCS11_MODULE") or ""
REPORT_SIGNING_PKCS11_TOKEN_LABEL = env_str("REPORT_SIGNING_PKCS11_TOKEN_LABEL") or ""
REPORT_SIGNING_PKCS11_SLOT = env_int("REPORT_SIGNING_PKCS11_SLOT", -1)
REPORT_SIGNING_PKCS11_KEY_LABEL = env_str("REPORT_SIGNING_PKCS11_KEY_LABEL") or ""
REPORT_SIGNING_PKCS11_PIN_FILE = env_str("REPORT_SIGNING_PKCS11_PIN_FILE") or ""
REPORT_COUNTERSIGNING_PKCS11_TOKEN_LABEL = env_str("REPORT_COUNTERSIGNING_PKCS11_TOKEN_LABEL") or ""
REPORT_COUNTERSIGNING_PKCS11_SLOT = env_int("REPORT_COUNTERSIGNING_PKCS11_SLOT", -1)
REPORT_COUNTERSIGNING_PKCS11_KEY_LABEL = env_str("REPORT_COUNTERSIGNING_PKCS11_KEY_LABEL") or ""
REPORT_COUNTERSIGNING_PKCS11_PIN_FILE = env_str("REPORT_COUNTERSIGNING_PKCS11_PIN_FILE") or ""
# B-LTA reports are re-timestamped this many days before their newest timestamp's
# certificate expires (checked daily by beat).
REPORT_RETIMESTAMP_WINDOW_DAYS = env_int("REPORT_RETIMESTAMP_WINDOW_DAYS", 90)
# The verifier asks the signers' OCSP responders (or CRLs) for their current status.
REPORT_VERIFY_FETCH_REVOCATION = env_bool("REPORT_VERIFY_FETCH_REVOCATION", default=True)

# The transparency log's checkpoint key (a Go-note signer key file,
# "PRIVATE+KEY+<origin>+<id>+<key>"), separate from the PDF key. With DEBUG on (or in
# tests) and none named, a development key whose origin says NOT-TRUSTED is made under
# var/dev-tlog. TLOG_WITNESS_VKEYS lists the witnesses (vkeys, comma-separated) whose
# cosignatures the registry accepts.
TLOG_SIGNING_KEY_FILE = env_str("TLOG_SIGNING_KEY_FILE") or ""
TLOG_DEV_KEY_DIR = VAR_DIR / "dev-tlog"
TLOG_WITNESS_VKEYS = env_list("TLOG_WITNESS_VKEYS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
}
