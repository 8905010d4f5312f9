"""Provider search: one parser for the page and the API, one query, bad input named by parameter."""

import math
import threading
import time
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F

from carepath.directory import geo
from carepath.directory.models import (
    Provider,
    ProviderSpecialty,
    Taxonomy,
    cells_around,
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
    count: int  # exact, or with count_capped a lower bound (at least this many match)
    providers: list  # Provider objects, each with .distance_miles (None without a place) and .specialty_list
    query: ProviderQuery
    count_capped: bool = False

    @property
    def has_next(self):
        return self.query.page * PAGE_SIZE < self.count

    @property
    def pages(self):
        return max(1, math.ceil(self.count / PAGE_SIZE))


def resolve_specialty(value):
    """A NUCC code or a specialty name (classification, specialization or display name) -> Taxonomy or None."""
    return taxonomies().resolve(value)


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
        codes += [c for c in taxonomies().with_specializations(taxonomy) if c not in codes]
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


# --- The taxonomy codes, held per process ---------------------------------------------------------------------------
# Parsing a query reads only this: specialty names and codes, and the specializations under a classification.
# The table changes only through import_nucc and the admin; both call forget_taxonomies() (a save or delete does
# too), and other processes see a change within TAXONOMY_TTL seconds.

TAXONOMY_TTL = 60.0


class Taxonomies:
    def __init__(self, rows):
        self.by_code = {t.code: t for t in rows}
        self._by_name = {}
        # Earlier wins: a specialization's own name first, then a classification (its row without a
        # specialization sorts first), then NUCC's display name, as resolve_specialty always did.
        ordered = sorted(rows, key=lambda t: (t.classification, t.specialization))
        for key, rows_for_key in (
            ("specialization", [t for t in ordered if t.specialization]),
            ("classification", ordered),
            ("display_name", [t for t in ordered if t.display_name]),
        ):
            for t in rows_for_key:
                self._by_name.setdefault(getattr(t, key).casefold(), t)
        self._under = {}
        for t in ordered:
            self._under.setdefault((t.grouping, t.classification), []).append(t.code)

    def resolve(self, value):
        value = value.strip()
        if not value:
            return None
        return self.by_code.get(value.upper()) or self._by_name.get(value.casefold())

    def with_specializations(self, taxonomy):
        """This code and, for a classification, every specialization under it."""
        if taxonomy.specialization:
            return [taxonomy.code]
        return list(self._under.get((taxonomy.grouping, taxonomy.classification), [taxonomy.code]))

    def __getitem__(self, code):
        return self.by_code[code]


_taxonomies = {"value": None, "loaded": 0.0}
_taxonomies_lock = threading.Lock()


def taxonomies():
    """Every taxonomy code, read once per process and again after forget_taxonomies() or TAXONOMY_TTL."""
    value = _taxonomies["value"]
    if value is None or time.monotonic() - _taxonomies["loaded"] > TAXONOMY_TTL:
        with _taxonomies_lock:
            value = Taxonomies(list(Taxonomy.objects.all()))
            _taxonomies.update(value=value, loaded=time.monotonic())
    return value


def forget_taxonomies(**kwargs):
    _taxonomies["value"] = None


def taxonomy_by_code():
    return taxonomies().by_code


# --- Running a query -----------------------------------------------------------------------------------------------
# Near a place, everything reads ProviderSearchEntry: one row per (active provider, specialty, located practice),
# keyed by a 0.5-degree grid cell, so a search seeks only the cells its circle touches.
#
# Counting is exact up to COUNT_CAP_ROWS matching entries. Past that (a common specialty in a big city: thousands of
# matches), counting every one costs more than the rest of the request together, and nobody pages through 50 pages
# of doctors; the result then says "at least N" (count_capped) and the page comes from walking the rating-ordered
# index of each code in each grid cell of the circle until the page is certain (rating and best-match order). The
# answer is the same page the exact statement gives; only the count is a lower bound.

COUNT_CAP_ROWS = 500
WALK_MARGIN = 10  # rows fetched per walk beyond the page end, for providers with several entries

# What a result shows, in the model's field order (Provider.from_db takes the values in that order).
PROVIDER_FIELDS = tuple(
    f.attname
    for f in Provider._meta.concrete_fields
    if f.attname
    in {
        "entity_type",
        "organization_name",
        "first_name",
        "middle_name",
        "last_name",
        "credential",
        "rating_count",
        "rating_sum",
        "rating_score",
        "accepting_new_patients",
        "is_synthetic",
    }
)
SORT_SQL = {
    "distance": "d, score DESC, provider_id",
    "rating": "score DESC, d, provider_id",
    "best": "prim DESC, score DESC, d, provider_id",
}
CHORD_SQL = "((x - %s) * (x - %s) + (y - %s) * (y - %s) + (z - %s) * (z - %s))"


def _in(values):
    return ", ".join(["%s"] * len(values))


class _Near:
    """The SQL pieces of one query near a place."""

    def __init__(self, q, radius=None):
        self.q = q
        radius = radius or q.radius
        x0, y0, z0 = unit_vector(q.place.latitude, q.place.longitude)
        self.chord_params = [x0, x0, y0, y0, z0, z0]
        self.limit = chord2_for_miles(radius)
        dlat = radius / MILES_PER_DEGREE_LAT
        dlng = radius / (MILES_PER_DEGREE_LAT * max(math.cos(math.radians(q.place.latitude)), 0.01))
        self.cells = cells_around(q.place.latitude, q.place.longitude, dlat, dlng)
        filters, self.filter_params = [], []
        if q.min_rating is not None:
            filters.append("rating_count > 0 AND rating_sum >= rating_count * %s")
            self.filter_params.append(q.min_rating)
        if q.accepting is not None:
            filters.append("accepting_new_patients = %s")
            self.filter_params.append(q.accepting)
        self.provider_filter = (
            f" AND provider_id IN (SELECT npi FROM directory_provider WHERE {' AND '.join(filters)})" if filters else ""
        )

    def hits(self, limit=None):
        """(sql, params): every matching entry as (provider_id, c2, rating_score, prim), at most `limit`."""
        where, params = [], []
        if self.q.codes:
            where.append(f"taxonomy_id IN ({_in(self.q.codes)})")
            params += self.q.codes
        where.append(f"cell IN ({_in(self.cells)})")
        params += self.cells
        where.append(f"{CHORD_SQL} <= %s")
        params += [*self.chord_params, self.limit]
        sql = (
            f"SELECT provider_id, {CHORD_SQL} AS c2, rating_score, "
            "CASE WHEN is_primary THEN 1 ELSE 0 END AS prim "
            f"FROM directory_providersearchentry WHERE {' AND '.join(where)}{self.provider_filter}"
        )
        params = [*self.chord_params, *params, *self.filter_params]
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql, params

    def walks(self, pairs, rows):
        """(sql, params): for each (code, cell) of `pairs`, its best-rated `rows` entries within the radius, read in
        rating order from the index (in a dense area the page is near the start of that order), as rows of
        (provider_id, c2, rating_score, prim, position of the pair)."""
        where = f"{CHORD_SQL} <= %s{self.provider_filter} ORDER BY rating_score DESC LIMIT {int(rows)}"
        select = f"SELECT provider_id, {CHORD_SQL} AS c2, rating_score, CASE WHEN is_primary THEN 1 ELSE 0 END AS prim"
        if connection.vendor == "postgresql":
            # One subquery run once per pair: a UNION of 60 subqueries took PostgreSQL 20 ms to plan.
            sql = (
                f"SELECT w.*, k.i - 1 FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY AS k(code, cell, i) "
                f"CROSS JOIN LATERAL ({select} FROM directory_providersearchentry "
                f"WHERE taxonomy_id = k.code AND cell = k.cell AND {where}) w"
            )
            codes, cells = [code for code, _ in pairs], [cell for _, cell in pairs]
            return sql, [codes, cells, *self.chord_params, *self.chord_params, self.limit, *self.filter_params]
        one = f"{select} FROM directory_providersearchentry WHERE taxonomy_id = %s AND cell = %s AND {where}"
        sql = " UNION ALL ".join(f"SELECT *, {i} FROM ({one}) w{i}" for i in range(len(pairs)))
        params = []
        for code, cell in pairs:
            params += [*self.chord_params, code, cell, *self.chord_params, self.limit, *self.filter_params]
        return sql, params


def _page_sql(hits_sql, order, start, vendor, cap=None):
    """One statement: group the hits by provider, count them, sort, cut one page, and join the page's providers
    with their specialty codes ("+" marks the primary one). Rows: (npi, chord2, providers, entries, providers
    among the entries read (with `cap` only), fields..., codes); always at least one, which carries the number of
    entries read (npi None when no provider is on the page). With `cap`, more entries than that skip the grouping
    and sorting: the caller walks instead, and the providers among those entries are a lower bound of the count."""
    concat = "string_agg" if vendor == "postgresql" else "group_concat"
    provider_columns = ", ".join(f"p.{f}" for f in PROVIDER_FIELDS)
    outer_order = ", ".join(f"r.{term}" for term in order.split(", "))
    only_if = f"WHERE (SELECT hit_rows FROM meta) <= {int(cap)} " if cap is not None else ""
    seen = "COUNT(DISTINCT provider_id)" if cap is not None else "NULL"
    return (
        f"WITH hits AS ({hits_sql}), meta AS (SELECT COUNT(*) AS hit_rows, {seen} AS seen FROM hits), "
        "ranked AS (SELECT provider_id, MIN(c2) AS d, MAX(rating_score) AS score, MAX(prim) AS prim, "
        f"COUNT(*) OVER () AS n FROM hits {only_if}GROUP BY provider_id "
        f"ORDER BY {order} LIMIT {PAGE_SIZE} OFFSET {int(start)}) "
        f"SELECT r.provider_id, r.d, r.n, m.hit_rows, m.seen, {provider_columns}, "
        f"(SELECT {concat}(s.taxonomy_id || CASE WHEN s.is_primary THEN '+' ELSE '' END, ',') "
        "FROM directory_providerspecialty s WHERE s.provider_id = r.provider_id) "
        "FROM meta m LEFT JOIN ranked r ON 1 = 1 LEFT JOIN directory_provider p ON p.npi = r.provider_id "
        f"ORDER BY {outer_order}"
    )


FIRST_FIELD = 5  # where a page row's provider fields start


def _providers(rows, first):
    """Provider objects (only the listed fields loaded) with .specialty_list and .distance_miles, from rows of
    (npi, chord2 or None, ..., PROVIDER_FIELDS..., codes) where the fields start at `first`."""
    cache = taxonomies()
    found = []
    for row in rows:
        values = row[first : first + len(PROVIDER_FIELDS)]
        provider = Provider.from_db(connection.alias, ["npi", *PROVIDER_FIELDS], [row[0], *values])
        codes = [(c[:-1], True) if c.endswith("+") else (c, False) for c in (row[-1] or "").split(",") if c]
        codes = [(code, primary) for code, primary in codes if code in cache.by_code]
        codes.sort(key=lambda c: (not c[1], cache[c[0]].classification))
        provider.specialty_list = [cache[code] for code, _ in codes]
        provider.distance_miles = None if row[1] is None else round(miles_for_chord2(row[1]), 1)
        found.append(provider)
    return found


def search_providers(q):
    """Run a parsed query: near a place, one statement on ProviderSearchEntry (in a dense area, a few more: the
    rating walk or smaller circles, and sorting every match when those cannot settle the page); elsewhere,
    providers by rating."""
    if q.place:
        return _search_near(q)
    return _search_anywhere(q)


def _search_near(q):
    near = _Near(q)
    start = (q.page - 1) * PAGE_SIZE
    with connection.cursor() as cursor:
        rows, count, hit_rows, seen = _exact_page(cursor, near, q, start, cap=COUNT_CAP_ROWS)
        if hit_rows <= COUNT_CAP_ROWS:  # every match was read: the count and the page are exact
            return SearchResult(count=count, providers=_providers(rows, FIRST_FIELD), query=q)
        if q.sort == "distance":
            nearest = _nearest(cursor, q, start)
            if nearest is not None:
                rows, count = nearest
                return SearchResult(count=count, providers=_providers(rows, FIRST_FIELD), query=q, count_capped=True)
        else:
            walked = _walk(cursor, near, q, start, seen)
            if walked is not None:
                page, count = walked
                return SearchResult(count=count, providers=_fetch_providers(cursor, page), query=q, count_capped=True)
        # The page could not be settled cheaply (deep pages, ties at its edge): sort every match.
        rows, count, _, _ = _exact_page(cursor, near, q, start)
    return SearchResult(count=count, providers=_providers(rows, FIRST_FIELD), query=q)


def _exact_page(cursor, near, q, start, cap=None):
    """(page rows, providers counted, entries read, providers among them); with `cap`, over the first cap + 1
    matching entries only, and no page at all when there are more."""
    hits_sql, params = near.hits(None if cap is None else cap + 1)
    cursor.execute(_page_sql(hits_sql, SORT_SQL[q.sort], start, connection.vendor, cap), params)
    rows = cursor.fetchall()
    hit_rows, seen = rows[0][3], rows[0][4]
    rows = [row for row in rows if row[0] is not None]
    if rows:
        return rows, rows[0][2], hit_rows, seen
    if not start or (cap is not None and hit_rows > cap):
        return rows, 0, hit_rows, seen
    # A page past the end carries no count: count without it.
    cursor.execute(f"SELECT COUNT(DISTINCT provider_id) FROM ({hits_sql}) hits", params)
    return rows, cursor.fetchone()[0], hit_rows, seen


def _nearest(cursor, q, start):
    """By distance in a dense area: the page within a smaller circle, when that circle holds the whole page and
    few enough matches to sort (whoever lies outside it is farther than everyone inside). (rows, how many it holds:
    a lower bound of the count), or None."""
    for fraction in (0.3, 0.1, 0.03):
        rows, count, hit_rows, _ = _exact_page(cursor, _Near(q, q.radius * fraction), q, start, cap=COUNT_CAP_ROWS)
        if hit_rows <= COUNT_CAP_ROWS:
            return (rows, count) if count >= start + PAGE_SIZE else None
    return None


def _walk(cursor, near, q, start, at_least):
    """The page in a dense area, from the best-rated entries of each code in each grid cell within the radius:
    ([(npi, chord2)] in order, a lower bound of the count: `at_least` or the providers read, whichever is more),
    or None when what was read does not settle the page (a deep page, or ties at the page's edge)."""
    if not q.codes:  # the walk follows each code's own index; without a specialty every match is sorted
        return None
    need = start + PAGE_SIZE
    rows_each = need + WALK_MARGIN
    pairs = [(code, cell) for code in q.codes for cell in near.cells]
    cursor.execute(*near.walks(pairs, rows_each))
    read = [[] for _ in pairs]
    best = {}  # npi -> [chord2, score, prim]
    for npi, c2, score, prim, w in cursor.fetchall():
        read[w].append(score)
        if npi in best:
            seen = best[npi]
            seen[0], seen[1], seen[2] = min(seen[0], c2), max(seen[1], score), max(seen[2], prim)
        else:
            best[npi] = [c2, score, prim]
    # A walk that returned all the rows it asked for may have more, at or below the score it stopped at.
    open_walks = [min(scores) for scores in read if len(scores) == rows_each]
    if len(best) < need:
        return None
    keys = {
        "rating": lambda n: (-best[n][1], best[n][0], n),
        "best": lambda n: (-best[n][2], -best[n][1], best[n][0], n),
    }
    ranked = sorted(best, key=keys[q.sort])
    last = best[ranked[need - 1]]
    # Certain when no entry left unread can reach the page: every unread entry scores at most the highest stopping
    # score, below the page's last provider (ties are ordered by distance, which unread entries could change);
    # and for best match, a provider on the page without a primary match needs every walk finished (an unread
    # primary entry would outrank it whatever its score).
    if open_walks and last[1] <= max(open_walks):
        return None
    if q.sort == "best" and not last[2] and open_walks:
        return None
    # Everyone the walks read lies within the radius: on a deep page they can outnumber the probe's providers.
    return [(npi, best[npi][0]) for npi in ranked[start:need]], max(at_least, len(best))


def _fetch_providers(cursor, page):
    """[(npi, chord2 or None)] -> Provider objects in that order (one statement)."""
    if not page:
        return []
    concat = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    npis = [npi for npi, _ in page]
    cursor.execute(
        f"SELECT p.npi, {', '.join(f'p.{f}' for f in PROVIDER_FIELDS)}, "
        f"(SELECT {concat}(s.taxonomy_id || CASE WHEN s.is_primary THEN '+' ELSE '' END, ',') "
        "FROM directory_providerspecialty s WHERE s.provider_id = p.npi) "
        f"FROM directory_provider p WHERE p.npi IN ({_in(npis)})",
        npis,
    )
    by_npi = {row[0]: row for row in cursor.fetchall()}
    return _providers([(npi, c2, *by_npi[npi][1:]) for npi, c2 in page if npi in by_npi], 2)


def provider_filter(q):
    """The active providers a query's specialty, rating and accepting filters let through (a QuerySet)."""
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


def _search_anywhere(q):
    providers = provider_filter(q)
    start = (q.page - 1) * PAGE_SIZE
    count = providers.count()
    npis = list(providers.order_by("-rating_score", "npi").values_list("npi", flat=True)[start : start + PAGE_SIZE])
    with connection.cursor() as cursor:
        found = _fetch_providers(cursor, [(npi, None) for npi in npis])
    return SearchResult(count=count, providers=found, query=q)
