from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from carepath.directory.models import Provider, ProviderReview, ProviderSpecialty, Taxonomy
from carepath.directory.search import QueryError, parse_query, search_providers


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
            if query.place and query.place.zip5:
                request.session["near_zip"] = query.place.zip5  # the guides' find-a-doctor box remembers it
    context = {
        "specialties": searchable_specialties(),
        "params": request.GET,
        "near_value": request.GET.get("near", request.session.get("near_zip", "")),
        "query": query,
        "result": result,
        "errors": errors,
    }
    return render(request, "directory/find_a_doctor.html", context, status=400 if errors else 200)


def provider_profile(request, npi):
    if not (len(npi) == 10 and npi.isdigit()):
        raise Http404("Not an NPI")
    provider = get_object_or_404(Provider, npi=npi, active=True)
    return render_profile(request, provider)


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
