"""The provider search as it was before ProviderSearchEntry (carepath/directory/search.py as of 2026-11-28 06:40),
kept verbatim so the benchmark can show before and after on the same data:

    gunicorn --pythonpath bench search_old_code:application      (with CAREPATH_SEARCH_OLD=1)

Near a place it read a bounding box through PracticeLocation's (latitude, longitude) index, joined to the providers
of the specialty, and computed the exact distance, the sort and the count in Python."""

import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE_SIZE = 20
MILES_PER_DEGREE_LAT = 69.0


def _primary_matches(npis, codes):
    from carepath.directory.models import ProviderSpecialty

    if not codes:
        return set()
    return set(
        ProviderSpecialty.objects.filter(provider_id__in=npis, taxonomy_id__in=codes, is_primary=True).values_list(
            "provider_id", flat=True
        )
    )


def search_providers(q):
    """Run a parsed query. Near a place: a bounding box on the location index, exact distance in Python."""
    from carepath.directory.models import PracticeLocation, Provider, distance_miles
    from carepath.directory.search import SearchResult
    from carepath.directory.search import provider_filter as _provider_filter  # renamed since, same filter

    providers = _provider_filter(q)
    start = (q.page - 1) * PAGE_SIZE
    distances = {}
    if q.place:
        lat, lng = q.place.latitude, q.place.longitude
        dlat = q.radius / MILES_PER_DEGREE_LAT
        dlng = q.radius / (MILES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
        rows = PracticeLocation.objects.filter(
            latitude__range=(lat - dlat, lat + dlat),
            longitude__range=(lng - dlng, lng + dlng),
            provider__in=providers,
        ).values_list("provider_id", "latitude", "longitude", "provider__rating_score")
        scores = {}
        for npi, plat, plng, score in rows:
            d = distance_miles(lat, lng, plat, plng)
            if d <= q.radius and d < distances.get(npi, math.inf):
                distances[npi], scores[npi] = d, score
        primary = _primary_matches(list(distances), q.codes) if q.sort == "best" else set()
        if q.sort == "distance":
            key = lambda npi: (distances[npi], -scores[npi], npi)  # noqa: E731
        elif q.sort == "rating":
            key = lambda npi: (-scores[npi], distances[npi], npi)  # noqa: E731
        else:
            key = lambda npi: (npi not in primary, -scores[npi], distances[npi], npi)  # noqa: E731
        ordered = sorted(distances, key=key)
        count, page_npis = len(ordered), ordered[start : start + PAGE_SIZE]
    else:
        count = providers.count()
        page_npis = list(
            providers.order_by("-rating_score", "npi").values_list("npi", flat=True)[start : start + PAGE_SIZE]
        )

    by_npi = Provider.objects.in_bulk(page_npis)
    found = [by_npi[n] for n in page_npis if n in by_npi]
    _attach_specialties(found)
    for provider in found:
        provider.distance_miles = round(distances[provider.npi], 1) if provider.npi in distances else None
    return SearchResult(count=count, providers=found, query=q)


def _attach_specialties(providers):
    from carepath.directory.models import ProviderSpecialty

    rows = (
        ProviderSpecialty.objects.filter(provider_id__in=[p.npi for p in providers])
        .select_related("taxonomy")
        .order_by("-is_primary", "taxonomy__classification")
    )
    by_provider = {}
    for row in rows:
        by_provider.setdefault(row.provider_id, []).append(row.taxonomy)
    for provider in providers:
        provider.specialty_list = by_provider.get(provider.npi, [])


def install():
    import carepath.api.api as api

    api.search_providers = search_providers


if os.environ.get("CAREPATH_SEARCH_OLD") == "1":
    from carepath.wsgi import application  # noqa: F401  (django.setup() happens here)

    install()
