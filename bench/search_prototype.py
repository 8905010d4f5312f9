"""Prototype of a faster provider search, on a bench database only (carepath/ is not changed).

    DATABASE_URL=... .venv/bin/python bench/search_prototype.py build    # create + fill the bench table, ANALYZE
    gunicorn --pythonpath bench search_prototype:application             # the app, with the API on the prototype

The idea: one denormalised row per (active provider, practice location, specialty code) with the location's
coordinates, the provider's rating_score and the location as a unit vector (x, y, z), indexed
(taxonomy_id, latitude, longitude) and covering the rest. A "specialty near a ZIP" query then reads only the index
entries of that specialty inside the bounding box (not every location of every specialty in the box, as now), and
the whole of "within the radius, best rating first, 20 a page, and how many" runs in one SQL statement:

    chord^2 = (x-x0)^2 + (y-y0)^2 + (z-z0)^2 <= (2 sin(radius / 2R))^2

is the same test as haversine distance <= radius (chord and great-circle distance grow together), in plain
arithmetic: no trigonometric function per row, which matters on SQLite. The page's 20 distances come back as
2R asin(chord / 2). The table is `bench_search_point` so that nobody takes it for an app table; the proposed model
is in bench/RESULTS.md.

Three query variants, all one statement, all checked against search_providers (same count, same 20 NPIs in order):
- CURRENT_TABLES_SQL: no schema change: today's bounding box on PracticeLocation, with the haversine, the sort, the
  LIMIT and the count moved from Python into SQL.
- POINT_HAVERSINE_SQL: the new table, haversine in SQL.
- POINT_CHORD_SQL: the new table, unit-vector chord in SQL (the proposal).
"""

import functools
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

EARTH_RADIUS_MILES = 3958.8
TABLE = "bench_search_point"
PAGE_SIZE = 20


def box(place, radius):
    from carepath.directory.search import MILES_PER_DEGREE_LAT

    lat, lng = place.latitude, place.longitude
    dlat = radius / MILES_PER_DEGREE_LAT
    dlng = radius / (MILES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def unit(lat, lng):
    p, la = math.radians(lat), math.radians(lng)
    return math.cos(p) * math.cos(la), math.cos(p) * math.sin(la), math.sin(p)


def chord2_max(radius):
    return (2 * math.sin(radius / (2 * EARTH_RADIUS_MILES))) ** 2


def build(connection):
    """(Re)create the bench table from the directory tables, with its index, and ANALYZE it."""
    pg = connection.vendor == "postgresql"
    active = "p.active" if pg else "p.active = 1"
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(
            f"CREATE TABLE {TABLE} AS "
            "SELECT s.taxonomy_id AS taxonomy_id, l.latitude AS latitude, l.longitude AS longitude, "
            "p.rating_score AS rating_score, l.provider_id AS provider_id, "
            "cos(radians(l.latitude)) * cos(radians(l.longitude)) AS x, "
            "cos(radians(l.latitude)) * sin(radians(l.longitude)) AS y, sin(radians(l.latitude)) AS z "
            "FROM directory_practicelocation l "
            "JOIN directory_provider p ON p.npi = l.provider_id "
            "JOIN directory_providerspecialty s ON s.provider_id = l.provider_id "
            f"WHERE {active} AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL"
        )
        if pg:
            cur.execute(
                f"CREATE INDEX {TABLE}_idx ON {TABLE} (taxonomy_id, latitude, longitude) "
                "INCLUDE (rating_score, provider_id, x, y, z)"
            )
            cur.execute(
                f"CREATE INDEX {TABLE}_rating_idx ON {TABLE} (taxonomy_id, rating_score DESC) "
                "INCLUDE (provider_id, x, y, z)"
            )
        else:
            cur.execute(
                f"CREATE INDEX {TABLE}_idx ON {TABLE} "
                "(taxonomy_id, latitude, longitude, rating_score, provider_id, x, y, z)"
            )
            cur.execute(f"CREATE INDEX {TABLE}_rating_idx ON {TABLE} (taxonomy_id, rating_score, provider_id, x, y, z)")
        cur.execute(f"SELECT count(*) FROM {TABLE}")
        rows = cur.fetchone()[0]
    if pg:  # VACUUM sets the visibility map, so the planner can use index-only scans
        with connection.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {TABLE}")
    else:
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {TABLE}")
    return rows


def _in(codes):
    return ", ".join(["%s"] * len(codes))


def current_tables_sql(q, start=0):
    """Today's tables and index; haversine, filter, sort, LIMIT and count in SQL. (sql, params)"""
    lat, lng = q.place.latitude, q.place.longitude
    lo_lat, hi_lat, lo_lng, hi_lng = box(q.place, q.radius)
    dist = (
        "2 * %s * asin(sqrt(power(sin(radians(l.latitude - %s) / 2), 2) + "
        "cos(radians(%s)) * cos(radians(l.latitude)) * power(sin(radians(l.longitude - %s) / 2), 2)))"
    )
    sql = (
        f"SELECT l.provider_id, MIN({dist}) AS d, MAX(p.rating_score) AS score, COUNT(*) OVER () AS n "
        "FROM directory_practicelocation l JOIN directory_provider p ON p.npi = l.provider_id "
        "WHERE l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s AND p.active = %s "
        "AND l.provider_id IN (SELECT provider_id FROM directory_providerspecialty "
        f"WHERE taxonomy_id IN ({_in(q.codes)})) "
        f"AND {dist} <= %s "
        "GROUP BY l.provider_id ORDER BY score DESC, d, l.provider_id LIMIT %s OFFSET %s"
    )
    dp = [EARTH_RADIUS_MILES, lat, lat, lng]
    params = [*dp, lo_lat, hi_lat, lo_lng, hi_lng, True, *q.codes, *dp, q.radius, PAGE_SIZE, start]
    return sql, params


def point_haversine_sql(q, start=0):
    lat, lng = q.place.latitude, q.place.longitude
    lo_lat, hi_lat, lo_lng, hi_lng = box(q.place, q.radius)
    dist = (
        "2 * %s * asin(sqrt(power(sin(radians(latitude - %s) / 2), 2) + "
        "cos(radians(%s)) * cos(radians(latitude)) * power(sin(radians(longitude - %s) / 2), 2)))"
    )
    sql = (
        f"SELECT provider_id, MIN({dist}) AS d, MAX(rating_score) AS score, COUNT(*) OVER () AS n FROM {TABLE} "
        f"WHERE taxonomy_id IN ({_in(q.codes)}) AND latitude BETWEEN %s AND %s AND longitude BETWEEN %s AND %s "
        f"AND {dist} <= %s GROUP BY provider_id ORDER BY score DESC, d, provider_id LIMIT %s OFFSET %s"
    )
    dp = [EARTH_RADIUS_MILES, lat, lat, lng]
    params = [*dp, *q.codes, lo_lat, hi_lat, lo_lng, hi_lng, *dp, q.radius, PAGE_SIZE, start]
    return sql, params


def point_chord_sql(q, start=0, sort="rating"):
    x0, y0, z0 = unit(q.place.latitude, q.place.longitude)
    lo_lat, hi_lat, lo_lng, hi_lng = box(q.place, q.radius)
    c2 = "((x - %s) * (x - %s) + (y - %s) * (y - %s) + (z - %s) * (z - %s))"
    order = "score DESC, d, provider_id" if sort == "rating" else "d, score DESC, provider_id"
    sql = (
        f"SELECT provider_id, MIN({c2}) AS d, MAX(rating_score) AS score, COUNT(*) OVER () AS n FROM {TABLE} "
        f"WHERE taxonomy_id IN ({_in(q.codes)}) AND latitude BETWEEN %s AND %s AND longitude BETWEEN %s AND %s "
        f"AND {c2} <= %s GROUP BY provider_id ORDER BY {order} LIMIT %s OFFSET %s"
    )
    cp = [x0, x0, y0, y0, z0, z0]
    params = [*cp, *q.codes, lo_lat, hi_lat, lo_lng, hi_lng, *cp, chord2_max(q.radius), PAGE_SIZE, start]
    return sql, params


def chord_to_miles(c2):
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(max(c2, 0.0)) / 2))


def run(cursor, sql_params):
    """Execute; (count, [npi, ...], {npi: distance-ish})."""
    sql, params = sql_params
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    return (rows[0][3] if rows else 0), [r[0] for r in rows], {r[0]: r[1] for r in rows}


def search_providers(q):
    """Drop-in for carepath.directory.search.search_providers on the bench table (sort rating/distance with a
    specialty and a place); anything else goes to the original."""
    from django.db import connection

    from carepath.directory import search as original
    from carepath.directory.models import Provider

    if not (q.place and q.codes and q.sort in ("rating", "distance") and q.min_rating is None and q.accepting is None):
        return _ORIGINAL(q)
    start = (q.page - 1) * PAGE_SIZE
    with connection.cursor() as cur:
        count, page_npis, c2 = run(cur, point_chord_sql(q, start, q.sort))
    by_npi = Provider.objects.in_bulk(page_npis)
    found = [by_npi[n] for n in page_npis if n in by_npi]
    original._attach_specialties(found)
    for provider in found:
        provider.distance_miles = round(chord_to_miles(c2[provider.npi]), 1)
    return original.SearchResult(count=count, providers=found, query=q)


# --- v2, "lean": the same answers, one SQL statement per request --------------------------------------------------
# parse_query costs two Taxonomy queries and search_providers two more after the search (in_bulk, specialties);
# on this machine each ORM query costs about 1 ms of Python before the database sees it. v2 answers the Taxonomy
# look-ups from a per-process dict (29 rows) and fetches the page's providers and their specialty codes in the
# search statement itself.

PROVIDER_FIELDS = (
    "entity_type organization_name first_name middle_name last_name credential rating_count rating_sum "
    "rating_score accepting_new_patients is_synthetic"
).split()


@functools.cache
def taxonomies():
    from carepath.directory.models import Taxonomy

    return {t.code: t for t in Taxonomy.objects.all()}


def cached_resolve_specialty(value):
    found = taxonomies().get(value.strip().upper())
    return found if found is not None else _ORIGINAL_RESOLVE(value)


def cached_with_specializations(self):
    if self.specialization:
        return [self.code]
    same = [t for t in taxonomies().values() if (t.grouping, t.classification) == (self.grouping, self.classification)]
    return [t.code for t in sorted(same, key=lambda t: (t.classification, t.specialization))]


def lean_sql(q, start, vendor, sort="rating"):
    inner, params = point_chord_sql(q, start, sort)
    agg = (
        "string_agg(s.taxonomy_id || CASE WHEN s.is_primary THEN '+' ELSE '' END, ',')"
        if vendor == "postgresql"
        else "group_concat(s.taxonomy_id || CASE WHEN s.is_primary THEN '+' ELSE '' END, ',')"
    )
    order = "h.score DESC, h.d, h.provider_id" if sort == "rating" else "h.d, h.score DESC, h.provider_id"
    sql = (
        f"WITH h AS ({inner}) SELECT h.provider_id, h.d, h.n, {', '.join('p.' + f for f in PROVIDER_FIELDS)}, "
        f"(SELECT {agg} FROM directory_providerspecialty s WHERE s.provider_id = h.provider_id) "
        f"FROM h JOIN directory_provider p ON p.npi = h.provider_id ORDER BY {order}"
    )
    return sql, params


def _providers_from_rows(rows):
    """Provider objects as search_providers returns them, from (npi, chord2, count, fields..., codes) rows."""
    from carepath.directory.models import Provider

    cache = taxonomies()
    found = []
    for row in rows:
        provider = Provider(npi=row[0], **dict(zip(PROVIDER_FIELDS, row[3:-1], strict=True)))
        codes = [(c[:-1], True) if c.endswith("+") else (c, False) for c in (row[-1] or "").split(",") if c]
        codes.sort(key=lambda c: (not c[1], cache[c[0]].classification))
        provider.specialty_list = [cache[c] for c, _ in codes]
        provider.distance_miles = round(chord_to_miles(row[1]), 1)
        found.append(provider)
    return found


def search_providers_lean(q):
    from django.db import connection

    from carepath.directory import search as original

    if not (q.place and q.codes and q.sort in ("rating", "distance") and q.min_rating is None and q.accepting is None):
        return _ORIGINAL(q)
    start = (q.page - 1) * PAGE_SIZE
    with connection.cursor() as cur:
        cur.execute(*lean_sql(q, start, connection.vendor, q.sort))
        rows = cur.fetchall()
        if rows:
            count = rows[0][2]
        elif start:  # a page past the end: the count still has to be right
            count, _, _ = run(cur, point_chord_sql(q, 0, q.sort))
        else:
            count = 0
    return original.SearchResult(count=count, providers=_providers_from_rows(rows), query=q)


# --- v3: v2 plus a capped count, and the best-rated first in dense areas ----------------------------------------
# Counting 13,000 matches exactly (family medicine within 25 miles of Midtown at N = 1M) is what costs in dense
# areas. v3 first counts each code's matches up to CAP_ROWS (a LIMITed sub-select: it stops early where matches are
# many). No code that dense: v2's exact statement. Otherwise the count is a lower bound (the API would say
# "1000+": a contract change to agree on) and the page comes from walking each dense code's index in rating order,
# checking the distance, until the page is certain (~1,500 index entries in Manhattan instead of 13,000), and the
# best-rated in the box for the other codes. Needs a second index: (taxonomy_id, rating_score DESC).

CAP_ROWS = 1200  # rows (a provider can have several) of one code fetched before the code counts as dense
WALK_ROWS = 80


def _rank(rows, sort):
    best = {}
    for npi, c2, score in rows:
        if npi not in best or c2 < best[npi][0]:
            best[npi] = (c2, score)
    if sort == "rating":
        return sorted(best, key=lambda n: (-best[n][1], best[n][0], n)), best
    return sorted(best, key=lambda n: (best[n][0], -best[n][1], n)), best


def _page(cur, vendor, npis):
    if not npis:
        return []
    agg = "string_agg" if vendor == "postgresql" else "group_concat"
    cur.execute(
        f"SELECT p.npi, {', '.join('p.' + f for f in PROVIDER_FIELDS)}, "
        f"(SELECT {agg}(s.taxonomy_id || CASE WHEN s.is_primary THEN '+' ELSE '' END, ',') "
        "FROM directory_providerspecialty s WHERE s.provider_id = p.npi) "
        f"FROM directory_provider p WHERE p.npi IN ({_in(npis)})",
        list(npis),
    )
    return {r[0]: r for r in cur.fetchall()}


def search_providers_capped(q):
    from django.db import connection

    from carepath.directory import search as original

    if not (q.place and q.codes and q.sort == "rating" and q.min_rating is None and q.accepting is None):
        return search_providers_lean(q)
    start = (q.page - 1) * PAGE_SIZE
    need = start + PAGE_SIZE
    x0, y0, z0 = unit(q.place.latitude, q.place.longitude)
    lo_lat, hi_lat, lo_lng, hi_lng = box(q.place, q.radius)
    c2 = "((x - %s) * (x - %s) + (y - %s) * (y - %s) + (z - %s) * (z - %s))"
    cp = [x0, x0, y0, y0, z0, z0]
    limit = chord2_max(q.radius)
    in_box = f"latitude BETWEEN %s AND %s AND longitude BETWEEN %s AND %s AND {c2} <= %s"
    box_params = [lo_lat, hi_lat, lo_lng, hi_lng, *cp, limit]
    with connection.cursor() as cur:
        if len(q.codes) > 1:  # one probe for all the codes first: most queries are not dense at all
            cur.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE taxonomy_id IN ({_in(q.codes)}) AND {in_box} "
                "LIMIT %s) capped",
                [*q.codes, *box_params, CAP_ROWS],
            )
            if cur.fetchone()[0] < CAP_ROWS:
                return search_providers_lean(q)
        dense = {}
        for code in q.codes:  # a classification is several codes, often one common and some rare
            cur.execute(
                f"SELECT count(*), count(DISTINCT provider_id) FROM (SELECT provider_id FROM {TABLE} "
                f"WHERE taxonomy_id = %s AND {in_box} LIMIT %s) capped",
                [code, *box_params, CAP_ROWS],
            )
            rows, providers = cur.fetchone()
            if rows >= CAP_ROWS:
                dense[code] = providers
        if not dense:  # few matches: the exact statement of v2 is cheap
            return search_providers_lean(q)
        pool, threshold = [], -math.inf
        for code in q.codes:  # per code, best rating first; a provider's rows all carry its score
            where = f"taxonomy_id = %s AND {c2} <= %s" if code in dense else f"taxonomy_id = %s AND {in_box}"
            params = [code, *cp, limit] if code in dense else [code, *box_params]
            cur.execute(
                f"SELECT provider_id, {c2}, rating_score FROM {TABLE} WHERE {where} "
                "ORDER BY rating_score DESC LIMIT %s",
                [*cp, *params, WALK_ROWS + need],
            )
            got = cur.fetchall()
            pool += got
            if len(got) == WALK_ROWS + need:  # there may be more at or below this score
                threshold = max(threshold, got[-1][2])
        ordered, best = _rank(pool, q.sort)
        if not (len(ordered) >= need and best[ordered[need - 1]][1] > threshold):
            return search_providers_lean(q)  # not certain (a deep page, ties): the exact statement
        count = max(len(ordered), *dense.values())  # a lower bound: the API would say "1000+"
        page = ordered[start : start + PAGE_SIZE]
        by_npi = _page(cur, connection.vendor, page)
    rows = [(n, best[n][0], count, *by_npi[n][1:]) for n in page if n in by_npi]
    result = original.SearchResult(count=count, providers=_providers_from_rows(rows), query=q)
    result.count_capped = True
    return result


_ORIGINAL = None
_ORIGINAL_RESOLVE = None
VARIANTS = {"1": search_providers, "2": search_providers_lean, "3": search_providers_capped}


def install(variant="1"):
    """Point the API view at a prototype (the bench server only); 2 and 3 also cache the Taxonomy look-ups."""
    global _ORIGINAL, _ORIGINAL_RESOLVE
    import carepath.api.api as api
    from carepath.directory import search
    from carepath.directory.models import Taxonomy

    _ORIGINAL = search.search_providers
    _ORIGINAL_RESOLVE = search.resolve_specialty
    api.search_providers = VARIANTS[variant]
    if variant in ("2", "3"):
        search.resolve_specialty = cached_resolve_specialty
        Taxonomy.with_specializations = cached_with_specializations


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit(__doc__)
    import secrets
    import time

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    import django

    django.setup()
    from django.db import connection

    t = time.perf_counter()
    n = build(connection)
    print(f"{TABLE}: {n} rows in {time.perf_counter() - t:.1f}s ({connection.vendor})")
else:
    if os.environ.get("CAREPATH_SEARCH_PROTOTYPE") in VARIANTS:
        from carepath.wsgi import application  # noqa: F401  (django.setup() happens here)

        install(os.environ["CAREPATH_SEARCH_PROTOTYPE"])
