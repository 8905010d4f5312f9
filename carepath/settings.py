"""CarePath settings: one module, every deployment choice read from the environment (see the README)."""

from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

from carepath.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("CAREPATH_VAR_DIR", str(BASE_DIR.parent / "var")))

DEBUG = env_bool("DEBUG", False)
# Development key, only ever accepted when DEBUG is on; production refuses to start without SECRET_KEY.
_DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])

if not DEBUG:
    if len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET_KEY or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list this site's host names (comma-separated) when DEBUG is off; '*' is refused."
        )

INSTALLED_APPS = [
    "carepath.core",
    "carepath.conditions",
    "carepath.directory",
    "carepath.editorial",
    "carepath.vocabulary",
    "carepath.search",
    "carepath.api",
    "csp",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "carepath.editorial.middleware.ReviewActionGuardMiddleware",
    "carepath.core.copies.ContentCopiesMiddleware",
]

ROOT_URLCONF = "carepath.urls"
WSGI_APPLICATION = "carepath.wsgi.application"
# The WSGI server's garbage-collector thresholds (carepath/wsgi.py); empty for CPython's defaults (700, 10, 10).
GC_THRESHOLDS = env_list("GC_THRESHOLDS", ["20000", "50", "100"])
if not all(n.isdigit() for n in GC_THRESHOLDS) or len(GC_THRESHOLDS) > 3:
    raise ImproperlyConfigured(
        f"GC_THRESHOLDS takes up to three whole numbers, such as 20000,50,100; got {GC_THRESHOLDS}"
    )
GC_THRESHOLDS = tuple(int(n) for n in GC_THRESHOLDS)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "carepath.core.context_processors.site",
            ],
        },
    },
]

if not env_str("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default: an SQLite file under var/
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'carepath.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # CACHE_KEY_PREFIX: for sites (or test runs) that share one Redis database.
    _redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX"),
    }
    CACHES = {"default": _redis, "pages": dict(_redis)}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "carepath"},
        # Its own store, so pages never push rate-limit counters out.
        "pages": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "carepath-pages",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        },
    }

# The page cache in front of Django (core/pagecache.py): anonymous pages answered from CACHES["pages"].
PAGE_CACHE_ENABLED = env_bool("PAGE_CACHE", not DEBUG)
PAGE_CACHE_ALIAS = "pages"
PAGE_CACHE_TIMEOUT = env_int("PAGE_CACHE_TIMEOUT", 24 * 3600)
PAGE_CACHE_SHARED_MAX_AGE = env_int("PAGE_CACHE_SHARED_MAX_AGE", 300)
PAGE_CACHE_LOCAL_ENTRIES = env_int("PAGE_CACHE_LOCAL_ENTRIES", 500)  # pages each worker process keeps in memory
# With Redis: how long after a change a worker may still serve the page it retired, at most (it is usually told at
# once, through pub/sub, unless PAGE_CACHE_LISTEN is off); 0 reads the counters on every request.
PAGE_CACHE_MAX_STALE_MS = env_int("PAGE_CACHE_MAX_STALE_MS", 1000)
PAGE_CACHE_LISTEN = env_bool("PAGE_CACHE_LISTEN", True)
# Site and provider search answers are stored this long at most (they also follow per-process copies of the
# vocabulary and the specialties, which catch up with a change a few seconds after it).
PAGE_CACHE_SEARCH_SECONDS = env_int("PAGE_CACHE_SEARCH_SECONDS", 60)
PAGE_CACHE_GENERATION_DIR = VAR_DIR / "pagecache"  # the generation counters when the cache is local memory
RETRY_AFTER_SECONDS = env_int("RETRY_AFTER_SECONDS", 30)

_email = dj_email_url.parse(env_str("EMAIL_URL") or "console:")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CarePath <no-reply@localhost>")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Security: the production defaults; `carepath check --deploy` is clean with DEBUG off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere on the public site (JSON-LD blocks are data, not scripts). The CMS needs
# inline code of its own and keeps Django's X-Frame-Options and the other headers instead.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/", "/api/v1/docs"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "carepath.core.views.csrf_failure"  # a form sent from a cached page without JavaScript
SILENCED_SYSTEM_CHECKS = (
    # HSTS is on in production; preload is an operator's choice (SECURE_HSTS_PRELOAD) because it is hard to undo.
    ["security.W021"] if not SECURE_HSTS_PRELOAD else []
)

# JSON lines in production (one object per request from the page cache layer, with its outcome and time).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format; use json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per background task is noise; failures still show.
    "loggers": {"django_tasks": {"level": "WARNING"}, "wagtail": {"level": "WARNING"}},
}

WAGTAIL_SITE_NAME = env_str("SITE_NAME", "CarePath")
WAGTAILADMIN_BASE_URL = env_str("BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# Seconds a process trusts its in-memory search vocabulary before asking the database whether it changed.
VOCABULARY_RECHECK_SECONDS = env_int("VOCABULARY_RECHECK_SECONDS", 2)
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]
WAGTAILDOCS_EXTENSIONS = ["pdf", "txt", "csv"]
# Medical review: the workflow's approval publishes (the reviewer needs no publish permission of their own), and
# an edit made while a review waits needs the reviewer to look again.
WAGTAIL_FINISH_WORKFLOW_ACTION = "carepath.editorial.publishing.publish_approved_revision"
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True

# Share by email: sends per client IP and per browser session in an hour.
SHARE_RATE = env_str("SHARE_RATE", "5/h")
# Reviews submitted per client IP and per e-mail address in an hour.
REVIEW_RATE = env_str("REVIEW_RATE", "5/h")
RATELIMIT_USE_CACHE = "default"
# Proxies in front of the app that append to X-Forwarded-For (a load balancer: 1; a CDN before it: 2). Rate limits
# and request logs then count the client's address instead of the last proxy's (carepath.core.clientip).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
RATELIMIT_IP_META_KEY = "carepath.core.clientip.ratelimit_ip"
