import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
application = get_wsgi_application()

if settings.PAGE_CACHE_ENABLED:
    from carepath.core.pagecache import PageCacheMiddleware

    # Cache hits are answered here, before Django's middleware stack (see core/pagecache.py).
    application = PageCacheMiddleware(application)
