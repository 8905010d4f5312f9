"""Provider search: one parser for the page and the API, one query, bad input named by parameter."""

import math
from dataclasses import dataclass, field

from django.db.models import F

from carepath.directory import geo
from carepath.directory.models import (
    PracticeLocation,
    Provider,
    ProviderSpecialty,
    Taxonomy,
    distance_miles,
)

PAGE_SIZE = 20
RADIUS_DEFAULT, RADIUS_MIN, RADIUS_MAX = 25, 1, 100
SORTS = ("best", "distance", "rating")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
MILES_PER_DEGREE_LAT = 69.0


class QueryError(ValueError):
    def __init__(self, parameter, message):
        super().__init__(message)
        self.parameter, self.message = parameter, message


@dataclass
class ProviderQuery:
    specialties: list = field(default_factory=list)  # Taxonomy objects asked for
    codes: list = field(default_factory=list)  # those codes and their specializations
    condition: object = None
    place: geo.Place = None
    radius: int = RADIUS_DEFAULT
    min_rating: float = None
    accepting: bool = None
    sort: str = "best"
    page: int = 1


@dataclass
class SearchResult:
    count: int
    providers: list  # Provider objects, each with .distance_miles (None without a place)
    query: ProviderQuery

    @property
    def has_next(self):
        return self.query.page * PAGE_SIZE < self.count

    @property
    def pages(self):
        return max(1, math.ceil(self.count / PAGE_SIZE))


def resolve_specialty(value):
    """A NUCC code or a specialty name (classification, specialization or display name) -> Taxonomy or None."""
    value = value.strip()
    if not value:
        return None
    return (
        Taxonomy.objects.filter(code=value.upper()).first()
        or Taxonomy.objects.filter(specialization__iexact=value).first()
        or Taxonomy.objects.filter(classification__iexact=value).order_by("specialization").first()
        or Taxonomy.objects.filter(display_name__iexact=value).first()
    )


def _int(params, name, default, low, high, unit=""):
    raw = (params.get(name) or "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(name, f"{name} must be a whole number from {low} to {high}{unit}; got {raw!r}.") from None
    if not low <= value <= high:
        raise QueryError(name, f"{name} must be from {low} to {high}{unit}; got {value}.")
    return value


def parse_query(params):
    """Read search parameters (a QueryDict or dict); raise QueryError naming the first bad one."""
    from carepath.conditions.models import ConditionPage

    q = ProviderQuery()
    specialty = (params.get("specialty") or "").strip()[:100]
    if specialty:
        taxonomy = resolve_specialty(specialty)
        if taxonomy is None:
            raise QueryError(
                "specialty",
                f"Unknown specialty {specialty!r}. Use a NUCC code such as 207X00000X or a name such as Rheumatology.",
            )
        q.specialties = [taxonomy]
    condition = (params.get("condition") or "").strip()[:100]
    if condition:
        q.condition = ConditionPage.objects.live().filter(slug=condition).first()
        if q.condition is None:
            raise QueryError("condition", f"No condition guide has the slug {condition!r}, such as muscle-atrophy.")
        q.specialties += [t for t in q.condition.specialties.all() if t not in q.specialties]
    codes = []
    for taxonomy in q.specialties:
        codes += [c for c in taxonomy.with_specializations() if c not in codes]
    q.codes = codes

    near = (params.get("near") or "").strip()[:100]
    if near:
        q.place = geo.find_place(near)
        if q.place is None:
            if geo.looks_like_place(near):
                raise QueryError(
                    "near", f"We don't know the place {near!r}. Check the ZIP code or the city's spelling."
                )
            raise QueryError("near", f'near must be a 5-digit US ZIP code or "City, ST"; got {near!r}.')
    q.radius = _int(params, "radius", RADIUS_DEFAULT, RADIUS_MIN, RADIUS_MAX, " miles")
    if params.get("radius") and not near:
        raise QueryError("radius", 'radius needs near: a ZIP code or "City, ST" to measure from.')

    raw = (params.get("min_rating") or "").strip()
    if raw:
        try:
            q.min_rating = float(raw)
        except ValueError:
            raise QueryError("min_rating", f"min_rating must be a number from 1 to 5; got {raw!r}.") from None
        if not 1 <= q.min_rating <= 5 or math.isnan(q.min_rating):
            raise QueryError("min_rating", f"min_rating must be from 1 to 5; got {raw}.")

    raw = (params.get("accepting") or "").strip().lower()
    if raw:
        if raw not in TRUE | FALSE:
            raise QueryError("accepting", f"accepting must be true or false; got {raw!r}.")
        q.accepting = raw in TRUE

    q.sort = (params.get("sort") or "best").strip().lower()
    if q.sort not in SORTS:
        raise QueryError("sort", f"sort must be one of {', '.join(SORTS)}; got {q.sort!r}.")
    if q.sort == "distance" and not q.place:
        raise QueryError("sort", 'sort=distance needs near: a ZIP code or "City, ST".')
    q.page = _int(params, "page", 1, 1, 10_000)
    return q


def _provider_filter(q):
    providers = Provider.objects.filter(active=True)
    if q.codes:
        providers = providers.filter(
            npi__in=ProviderSpecialty.objects.filter(taxonomy_id__in=q.codes).values("provider_id")
        )
    if q.min_rating is not None:
        providers = providers.filter(rating_count__gt=0, rating_sum__gte=F("rating_count") * q.min_rating)
    if q.accepting is not None:
        providers = providers.filter(accepting_new_patients=q.accepting)
    return providers


def _primary_matches(npis, codes):
    if not codes:
        return set()
    return set(
        ProviderSpecialty.objects.filter(provider_id__in=npis, taxonomy_id__in=codes, is_primary=True).values_list(
            "provider_id", flat=True
        )
    )


def search_providers(q):
    """Run a parsed query. Near a place: a bounding box on the location index, exact distance in Python."""
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
