import logging
import secrets
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.utils import DatabaseError, InterfaceError
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def healthz(request):
    """Liveness: 200 when the app and its database answer, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "error", "database": str(exc).splitlines()[0][:200]}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def readyz(request):
    """Readiness: 200 when both the database and the cache answer, 503 otherwise (a load balancer stops sending)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
    try:
        probe = secrets.token_hex(8)
        cache.set("readyz:probe", probe, 10)
        checks["cache"] = "ok" if cache.get("readyz:probe") == probe else "the cache did not keep a value"
    except Exception as exc:  # every cache backend raises its own errors
        checks["cache"] = f"{exc.__class__.__name__}: {str(exc)[:200]}"
    ready = all(value == "ok" for value in checks.values())
    response = JsonResponse({"status": "ok" if ready else "error", **checks}, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
def csrf_token(request):
    """A CSRF token for a form on a cached page (the page itself carries none); fetched by site.js on demand."""
    return JsonResponse({"token": get_token(request)})


def server_error(request):
    """handler500: a database outage is a friendly 503 with Retry-After; anything else the plain 500 page.
    Neither template touches the database, and neither shows a stack trace."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DatabaseError | InterfaceError):
        logger.error("database unavailable: %s", str(exc).splitlines()[0][:200] if str(exc) else exc.__class__)
        response = HttpResponse(render_to_string("503.html", {"site_name": settings.WAGTAIL_SITE_NAME}), status=503)
        response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    else:
        response = HttpResponse(render_to_string("500.html"), status=500)
    response["Cache-Control"] = "no-store"
    return response


RESEND = "To keep your details safe, please check the form and send it again."


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW. Cached pages carry no token, so a form sent from one with JavaScript off arrives without
    it: nothing is done with the data; the reader gets the same form back, filled in and carrying a token, to send
    again. Any other failure gets Django's plain 403."""
    from wagtail.models import Site

    from carepath.conditions.models import ConditionPage
    from carepath.conditions.views import ShareForm
    from carepath.directory.models import Provider
    from carepath.directory.reviews import ReviewForm
    from carepath.directory.views import render_profile

    if request.method == "POST":
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        if match and match.url_name == "review_submit":
            provider = Provider.objects.filter(npi=match.kwargs["npi"], active=True).first()
            if provider:
                form = ReviewForm(request.POST)
                form.is_valid()
                form.add_error(None, RESEND)
                return render_profile(request, provider, review_form=form, status=403)
        site = Site.find_for_request(request)
        if site and request.path_info.endswith("/share/"):
            components = [c for c in request.path_info.split("/") if c][:-1]
            try:
                page = site.root_page.specific.route(request, components).page
            except Http404:
                page = None
            if isinstance(page, ConditionPage):
                form = ShareForm(request.POST)
                form.is_valid()
                form.add_error(None, RESEND)
                response = page.render(request, context_overrides={"share_form": form, "share_refused": True})
                response.status_code = 403
                return response
    return django_csrf_failure(request, reason)
