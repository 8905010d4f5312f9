import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
application = get_wsgi_application()

if settings.PAGE_CACHE_ENABLED:
    from carepath.core.pagecache import PageCacheMiddleware

    # Cache hits are answered here, before Django's middleware stack (see core/pagecache.py).
    application = PageCacheMiddleware(application)

# The garbage collector, tuned for a server process. What was loaded at start-up (Django, Wagtail, the vocabulary,
# the ZIP index) lives as long as the process: frozen, the collector never walks it again. A request allocates
# tens of thousands of objects, almost all freed by reference counting; with CPython's default of a collection
# every 700 net allocations, a request paid for several. Measured side by side (bench/RESULTS.md, provider search
# at N = 1,000,000): p50 -25%, p95 11.8 -> 8.9 ms on SQLite and 13.6 -> 10.5 ms on PostgreSQL.
if settings.GC_THRESHOLDS:
    gc.freeze()
    gc.set_threshold(*settings.GC_THRESHOLDS)
