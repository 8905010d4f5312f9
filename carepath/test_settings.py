"""Settings for the test suite: fast hashing, in-memory email, deterministic keys."""

import os

os.environ.setdefault("DEBUG", "true")

from carepath.settings import *  # noqa: E402,F403  (test settings extend the real ones)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
WAGTAILADMIN_BASE_URL = "http://testserver"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns about a missing root)
VOCABULARY_RECHECK_SECONDS = 0  # every request sees the vocabulary a test just changed
