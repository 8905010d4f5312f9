"""The app server of bench/search_latency.py: carepath.wsgi plus one bench-only route, /bench/plain-search?q=, that
answers with plain Wagtail search (no vocabulary) over guides and slideshows, in /api/v1/search's JSON shape, so
the baseline is timed through the same server, middleware and database connection as the real endpoint."""

import os

import django
from django.conf import settings
from django.http import JsonResponse
from django.urls import include, path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
django.setup()


def plain_search(request):
    from wagtail.models import Page

    from carepath.conditions.models import ConditionPage, SlideshowPage

    q = request.GET.get("q", "")
    pages = Page.objects.live().type(ConditionPage, SlideshowPage).specific().search(q)[:10]
    results = [
        {
            "title": p.title,
            "url": p.url,
            "type": "slideshow" if isinstance(p, SlideshowPage) else "guide",
            "score": None,
        }
        for p in pages
    ]
    return JsonResponse({"query": q, "results": results})


urlpatterns = [path("bench/plain-search", plain_search), path("", include(settings.ROOT_URLCONF))]
settings.ROOT_URLCONF = __name__

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after the URL configuration is in place

application = get_wsgi_application()
