from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from carepath.core.views import healthz
from carepath.directory.reviews import confirm_review_view, submit_review
from carepath.directory.views import find_a_doctor, provider_profile
from carepath.search.views import search_page

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("sitemap.xml", sitemap),
    path("api/", include("carepath.api.urls")),
    path("search/", search_page, name="search"),
    path("find-a-doctor/", find_a_doctor, name="find_a_doctor"),
    path("find-a-doctor/reviews/confirm/<str:token>/", confirm_review_view, name="review_confirm"),
    path("find-a-doctor/<str:npi>/", provider_profile, name="provider_profile"),
    path("find-a-doctor/<str:npi>/review/", submit_review, name="review_submit"),
]

if settings.SERVE_MEDIA:
    # The one-machine default; at scale a CDN or the front web server serves MEDIA_ROOT instead.
    from django.views.static import serve

    urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

urlpatterns += [path("", include(wagtail_urls))]
