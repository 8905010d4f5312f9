import re

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from carepath.core.pagecache import mark_public
from carepath.directory.models import Provider, ProviderReview, ProviderSpecialty, Taxonomy
from carepath.directory.search import QueryError, parse_query, search_providers

NEAR_ZIP_COOKIE = "near_zip"
ZIP_RE = re.compile(r"[0-9]{5}")


def searchable_specialties():
    """Specialties someone in the directory has, or a guide asks for: one index probe per code, cached."""
    codes = cache.get("directory:specialty-codes")
    if codes is None:
        has_provider = Exists(ProviderSpecialty.objects.filter(taxonomy=OuterRef("pk")))
        codes = list(
            Taxonomy.objects.filter(Q(has_provider) | Q(condition_pages__live=True)).values_list("code", flat=True)
        )
        cache.set("directory:specialty-codes", codes, 600)
    return Taxonomy.objects.filter(code__in=codes).order_by("classification", "specialization")


def find_a_doctor(request):
    """The search page: the same parameters and the same search as /api/v1/providers."""
    errors, result, query = {}, None, None
    if request.GET:
        try:
            query = parse_query(request.GET)
        except QueryError as exc:
            errors[exc.parameter] = exc.message
        else:
            result = search_providers(query)
    remembered = request.COOKIES.get(NEAR_ZIP_COOKIE, "")
    context = {
        "specialties": searchable_specialties(),
        "params": request.GET,
        "near_value": request.GET.get("near", remembered if ZIP_RE.fullmatch(remembered) else ""),
        "query": query,
        "result": result,
        "errors": errors,
    }
    response = render(request, "directory/find_a_doctor.html", context, status=400 if errors else 200)
    if query and query.place and query.place.zip5:
        # Remembered in the reader's browser, not in a session: the guides' find-a-doctor box fills it in with
        # site.js, so the cached guide pages stay the same for everyone.
        response.set_cookie(
            NEAR_ZIP_COOKIE, query.place.zip5, max_age=90 * 24 * 3600, samesite="Lax", secure=request.is_secure()
        )
    return response


def provider_profile(request, npi):
    if not (len(npi) == 10 and npi.isdigit()):
        raise Http404("Not an NPI")
    provider = get_object_or_404(Provider, npi=npi, active=True)
    response = render_profile(request, provider)
    if request.method in ("GET", "HEAD"):
        mark_public(response, ("content", "directory"))
    return response


def render_profile(request, provider, review_form=None, status=200):
    from carepath.directory.reviews import ReviewForm

    published = provider.reviews.filter(status=ProviderReview.PUBLISHED)
    counts = {n: 0 for n in range(5, 0, -1)}
    for stars in published.values_list("stars", flat=True):
        counts[stars] += 1
    total = sum(counts.values())
    context = {
        "provider": provider,
        "specialties": [s.taxonomy for s in provider.specialties.select_related("taxonomy").order_by("-is_primary")],
        "locations": list(provider.locations.order_by("-is_primary")),
        "reviews": published.order_by("-moderated_at")[:50],
        "distribution": [(n, c, round(100 * c / total) if total else 0) for n, c in counts.items()],
        "review_form": review_form or ReviewForm(),
    }
    return render(request, "directory/provider_profile.html", context, status=status)
