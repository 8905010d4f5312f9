"""Provider search: one parser for the page and the API, one query, bad input named by parameter."""

import functools
import math
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F

from carepath.directory import geo
from carepath.directory.models import (
    Provider,
    ProviderSpecialty,
    Taxonomy,
    chord2_for_miles,
    miles_for_chord2,
    unit_vector,
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


SORT_SQL = {
    "distance": "d, score DESC, provider_id",
    "rating": "score DESC, d, provider_id",
    "best": "prim DESC, score DESC, d, provider_id",
}


def _near_sql(q, start):
    """One statement on ProviderSearchEntry's covering index: the bounding box, the exact radius (squared chord
    between unit vectors, no trigonometry in SQL), one row per provider, sorted and counted, one page."""
    lat, lng = q.place.latitude, q.place.longitude
    dlat = q.radius / MILES_PER_DEGREE_LAT
    dlng = q.radius / (MILES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    x0, y0, z0 = unit_vector(lat, lng)
    chord = "((x - %s) * (x - %s) + (y - %s) * (y - %s) + (z - %s) * (z - %s))"
    chord_params = [x0, x0, y0, y0, z0, z0]
    where = ["latitude BETWEEN %s AND %s", "longitude BETWEEN %s AND %s", f"{chord} <= %s"]
    params = [lat - dlat, lat + dlat, lng - dlng, lng + dlng, *chord_params, chord2_for_miles(q.radius)]
    if q.codes:
        where.insert(0, f"taxonomy_id IN ({', '.join(['%s'] * len(q.codes))})")
        params = [*q.codes, *params]
    provider_filters = []
    if q.min_rating is not None:
        provider_filters.append("rating_count > 0 AND rating_sum >= rating_count * %s")
        params.append(q.min_rating)
    if q.accepting is not None:
        provider_filters.append("accepting_new_patients = %s")
        params.append(q.accepting)
    if provider_filters:
        where.append(f"provider_id IN (SELECT npi FROM directory_provider WHERE {' AND '.join(provider_filters)})")
    sql = (
        "SELECT provider_id, d, score, COUNT(*) OVER () FROM ("
        f"SELECT provider_id, MIN({chord}) AS d, MAX(rating_score) AS score, "
        "MAX(CASE WHEN is_primary THEN 1 ELSE 0 END) AS prim "
        f"FROM directory_providersearchentry WHERE {' AND '.join(where)} GROUP BY provider_id"
        f") hits ORDER BY {SORT_SQL[q.sort]} LIMIT {PAGE_SIZE} OFFSET {int(start)}"
    )
    return sql, [*chord_params, *params]


def search_providers(q):
    """Run a parsed query. Near a place it reads ProviderSearchEntry only; elsewhere, providers by rating."""
    start = (q.page - 1) * PAGE_SIZE
    distances = {}
    if q.place:
        with connection.cursor() as cursor:
            cursor.execute(*_near_sql(q, start))
            rows = cursor.fetchall()
        if rows:
            count = rows[0][3]
        elif start:
            count = _count_near(q)
        else:
            count = 0
        page_npis = [row[0] for row in rows]
        distances = {row[0]: miles_for_chord2(row[1]) for row in rows}
    else:
        providers = _provider_filter(q)
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


def _count_near(q):
    """The number of matches, for a page past the end (which returns no row to carry the count)."""
    sql, params = _near_sql(q, 0)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[3] if row else 0


@functools.lru_cache(maxsize=1)
def _taxonomies(version):
    return Taxonomy.objects.in_bulk()


def taxonomy_by_code():
    """Every taxonomy code, read once per process and again when the table changes (import_nucc)."""
    return _taxonomies(Taxonomy.objects.count())


def _attach_specialties(providers):
    """Each provider's specialties, primary first: one indexed look-up, no join."""
    taxonomies = taxonomy_by_code()
    rows = ProviderSpecialty.objects.filter(provider_id__in=[p.npi for p in providers]).values_list(
        "provider_id", "taxonomy_id", "is_primary"
    )
    by_provider = {}
    for npi, code, primary in rows:
        by_provider.setdefault(npi, []).append((not primary, taxonomies[code].classification, taxonomies[code]))
    for provider in providers:
        provider.specialty_list = [t for _, _, t in sorted(by_provider.get(provider.npi, []), key=lambda r: r[:2])]
