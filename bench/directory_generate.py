"""Fill a bench database with N synthetic providers for the provider-search benchmark (bench/search_bench.py).

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE carepath_search_bench_1m'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/carepath_search_bench_1m \\
        .venv/bin/python bench/directory_generate.py 1000000 [--seed 1] [--replace]
    DATABASE_URL=sqlite:////tmp/carepath_search_bench_1m.sqlite3 .venv/bin/python bench/directory_generate.py 1000000

It migrates the database first (the same as `.venv/bin/python -m carepath.manage migrate`), then writes
Provider, ProviderSpecialty and PracticeLocation rows, all `is_synthetic=True`, in batches of 50,000 inside one
transaction: COPY (psycopg `cursor.copy`) on PostgreSQL, `executemany` on the raw sqlite3 connection on SQLite,
then the app's derived search table (carepath.directory.search_index.refresh(), when the tree has it) and ANALYZE
(VACUUM ANALYZE on PostgreSQL, so index-only scans need no heap visits). Keep the database out of the repo (/tmp,
or a PostgreSQL database of its own). `--refresh-only` just migrates an existing bench database, rebuilds the
search table and analyzes (after a new migration in the tree).

What the rows look like:
- NPIs: the 9-digit stem 29xxxxxxx (290,000,000 + i) plus the check digit from
  carepath.directory.models.npi_with_check_digit. No clash with the demo block (19999xxxx) or with
  bench/nppes_generate.py (100,000,000 + 7i, under 107,000,000).
- Places: real ZIP centroids (zipcodes package; active STANDARD ZIPs: PO-box and single-firm ZIPs hold no
  practices). zipcodes has no population, so a ZIP's weight is the square root of the number of STANDARD ZIPs whose
  centroid lies within 10 miles of it (itself included; 10001 Midtown Manhattan has 223, the median ZIP 6, Sheridan
  WY 1). Why the square root: ZIP density already puts more ZIPs where people live, so weighting each ZIP by the
  density itself counts density twice (17.9% of all providers within 25 miles of 10001); with the square root the
  share within 25 miles is 6.5% around 10001 (about 4.5% of the US population lives there, and New York has more
  doctors per head), 2.4% around 90012 (Los Angeles, ~3% of the population), 1.5% around 60601 (Chicago, ~2%),
  0.9% around 77030 (Houston, ~1.5%), 0.3% around 43215 (Columbus, ~0.5%), 0.01% around 59701 (Butte).
  bench/nppes_generate.py weights by the city's ZIP count instead, which puts 6.6% around Houston (one "city" with
  ~100 ZIPs) and gives a Long Island suburb that is its own town weight 1.
  Latitude/longitude are the centroid exactly, as the NPPES importer stores them.
- 12% of providers have a second practice location: another ZIP within 15 miles, any of them alike.
- Specialties: one primary code from the Taxonomy table (the ~29 shipped codes) with weights shaped like NPPES counts
  (family medicine, internal medicine and physical therapy common; hand surgery or vascular neurology rare; a code
  not in WEIGHTS gets 2). 15% have a second, non-primary code, from the same NUCC classification where it has one.
- Ratings: 45% of providers have no reviews; the rest 1..300 (heavy-tailed), average around N(4.1, 0.6);
  rating_sum/rating_count/rating_score (the Bayesian average) set as moderation would.
"""

import argparse
import math
import os
import random
import secrets
import sys
import time
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NPI_BASE = 290_000_000
BATCH = 50_000
WEIGHT_RADIUS_MILES = 10

# Primary-specialty weights, shaped like NPPES counts per code (not exact: relative sizes matter here).
WEIGHTS = {
    "207Q00000X": 120,  # Family Medicine
    "207R00000X": 110,  # Internal Medicine
    "225100000X": 100,  # Physical Therapist
    "208000000X": 60,  # Pediatrics
    "207P00000X": 45,  # Emergency Medicine
    "225X00000X": 45,  # Occupational Therapist
    "2084P0800X": 40,  # Psychiatry
    "133V00000X": 30,  # Registered Dietitian
    "207X00000X": 25,  # Orthopaedic Surgery
    "208600000X": 25,  # Surgery
    "2084N0400X": 14,  # Neurology
    "207RG0100X": 14,  # Gastroenterology
    "207N00000X": 12,  # Dermatology
    "207RN0300X": 9,  # Nephrology
    "208100000X": 9,  # Physical Medicine & Rehabilitation
    "207RE0101X": 7,  # Endocrinology
    "208200000X": 7,  # Plastic Surgery
    "207RR0500X": 5,  # Rheumatology
    "207RG0300X": 5,  # Geriatric Medicine
    "207XX0005X": 3,  # Sports Medicine (Orthopaedic)
    "2086S0122X": 2,
    "207XS0106X": 2,
    "207XS0117X": 2,
    "207RA0401X": 1,
    "207XX0801X": 1,
    "2084V0102X": 1,
    "2084N0600X": 1,
    "207XX0004X": 1,
    "207XS0114X": 1,
}
LAST = (
    "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ WILSON ANDERSON "
    "THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK NGUYEN PATEL KIM CHEN"
).split()
FIRST = (
    "MARY PATRICIA JENNIFER LINDA ELIZABETH SUSAN SARAH KAREN PRIYA MARIA ANNA JAMES ROBERT JOHN MICHAEL DAVID "
    "WILLIAM RICHARD JOSEPH THOMAS RAJ CARLOS DANIEL PAUL WEI"
).split()
CREDENTIALS = {"225100000X": "PT", "225X00000X": "OT", "133V00000X": "RD"}
STREETS = "MAIN OAK PINE MAPLE CEDAR ELM WASHINGTON LAKE HILL PARK RIVER CHURCH MARKET".split()


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carepath.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to the bench database (never the site's own).")
    import django

    django.setup()


def miles(lat1, lon1, lat2, lon2):
    from carepath.directory.models import distance_miles

    return distance_miles(lat1, lon1, lat2, lon2)


def weighted_places():
    """[(zip5, CITY, ST, lat, lng)], cumulative weights, and each ZIP's neighbours within 15 miles (for 2nd sites)."""
    import zipcodes

    rows = [
        (z["zip_code"], z["city"].upper(), z["state"], float(z["lat"]), float(z["long"]))
        for z in zipcodes.list_all()
        if z["zip_code_type"] == "STANDARD" and z["active"] and z["lat"] and z["long"]
    ]
    cell = 0.25  # degrees; 10-15 miles fits in the 3x3 block around a cell up to ~60 degrees north
    grid = {}
    for i, r in enumerate(rows):
        grid.setdefault((int(r[3] // cell), int(r[4] // cell)), []).append(i)
    weights, near15 = [], []
    for r in rows:
        ci, cj = int(r[3] // cell), int(r[4] // cell)
        span = max(1, math.ceil(15 / (69 * cell * max(math.cos(math.radians(r[3])), 0.2))))
        count, close = 0, []
        for di in (-1, 0, 1):
            for dj in range(-span, span + 1):
                for k in grid.get((ci + di, cj + dj), ()):
                    d = miles(r[3], r[4], rows[k][3], rows[k][4])
                    if d <= WEIGHT_RADIUS_MILES:
                        count += 1
                    if d <= 15:
                        close.append(k)
        weights.append(math.sqrt(count))
        near15.append(close)
    return rows, list(accumulate(weights)), near15


def pick_taxonomy(rng, codes, cum):
    return codes[bisect_left(cum, rng.random() * cum[-1])]


def generate(n, seed, places, cum_zip, near15, codes, cum_codes, by_classification):
    """Yield (provider, specialties, locations) tuples of plain values, one provider at a time."""
    from carepath.directory.models import bayesian_average, npi_with_check_digit

    rng = random.Random(seed)
    total = cum_zip[-1]
    for i in range(n):
        npi = npi_with_check_digit(str(NPI_BASE + i))
        code = pick_taxonomy(rng, codes, cum_codes)
        if rng.random() < 0.45:
            count = 0
        else:
            count = min(300, int(rng.paretovariate(0.9)))
        mean = min(5.0, max(1.0, rng.gauss(4.1, 0.6)))
        rating_sum = min(5 * count, max(count, round(mean * count)))
        individual = rng.random() < 0.85
        provider = (
            npi,
            1 if individual else 2,
            "" if individual else f"{rng.choice(LAST)} {rng.choice(STREETS)} CLINIC",
            rng.choice(LAST) if individual else "",
            rng.choice(FIRST) if individual else "",
            CREDENTIALS.get(code, rng.choice(["MD", "DO", "NP", "PA-C"])) if individual else "",
            rng.random() < 0.97,  # active
            rng.random() < 0.7,  # accepting_new_patients
            rng.choice(["English", "English", "English, Spanish"]),
            count,
            rating_sum,
            bayesian_average(rating_sum, count),
        )
        specialties = [(npi, code, True)]
        if rng.random() < 0.15:
            family = [c for c in by_classification[code] if c != code]
            second = rng.choice(family) if family else pick_taxonomy(rng, codes, cum_codes)
            if second != code:
                specialties.append((npi, second, False))
        p = bisect_left(cum_zip, rng.random() * total)
        sites = [(p, True)]
        if rng.random() < 0.12 and len(near15[p]) > 1:
            sites.append((rng.choice([k for k in near15[p] if k != p]), False))
        locations = []
        for k, primary in sites:
            zip5, city, state, lat, lng = places[k]
            locations.append(
                (
                    npi,
                    primary,
                    f"{rng.randint(1, 9999)} {rng.choice(STREETS)} ST",
                    city,
                    state,
                    zip5,
                    f"555{rng.randint(1000000, 9999999)}",
                    lat,
                    lng,
                )
            )
        yield provider, specialties, locations


PROVIDER_COLUMNS = (
    "npi entity_type organization_name last_name first_name credential active accepting_new_patients languages "
    "rating_count rating_sum rating_score"
).split()
SPECIALTY_COLUMNS = ["provider_id", "taxonomy_id", "is_primary"]
LOCATION_COLUMNS = "provider_id is_primary address_line1 city state zip5 phone latitude longitude".split()


def defaults(model, given):
    """(column, value) for every NOT NULL column the generator does not set: the model's own defaults."""
    out = []
    for f in model._meta.concrete_fields:
        if f.column in given or f.primary_key and f.column == "id":
            continue
        if f.column == "is_synthetic":
            out.append((f.column, True))
        elif f.has_default():
            out.append((f.column, f.get_default()))
        elif f.null:
            out.append((f.column, None))
        else:
            out.append((f.column, ""))
    return out


def refresh_search_index():
    """Fill the app's derived search table, the way the NPPES importer does, when this tree has one."""
    try:
        from carepath.directory import search_index
    except ImportError:
        return None
    return search_index.refresh()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true", help="empty the directory tables first (bench DB only)")
    parser.add_argument("--refresh-only", action="store_true", help="migrate, rebuild the search table, analyze")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    from carepath.directory.models import PracticeLocation, Provider, ProviderSpecialty, Taxonomy

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    if args.refresh_only:
        entries = refresh_search_index()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        print(f"{entries} search-index rows in {time.perf_counter() - t0:.1f}s ({connection.vendor})")
        return
    existing = Provider.objects.count()
    if existing:
        if not args.replace:
            sys.exit(f"{existing} providers are already there; pass --replace to empty the directory tables.")
        if Provider.objects.filter(is_synthetic=False).exists():
            sys.exit("Refusing to empty a database that holds real (non-synthetic) providers.")
        tables = [m._meta.db_table for m in (PracticeLocation, ProviderSpecialty, Provider)]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)}, directory_providerreview CASCADE")
            else:
                for table in ["directory_providerreview", *tables]:
                    cursor.execute(f"DELETE FROM {table}")
        print(f"emptied ({existing} providers)", file=sys.stderr)

    taxonomies = list(Taxonomy.objects.all())
    codes = [t.code for t in taxonomies]
    cum_codes = list(accumulate(WEIGHTS.get(c, 2) for c in codes))
    by_classification = {
        t.code: [u.code for u in taxonomies if u.classification == t.classification] for t in taxonomies
    }
    places, cum_zip, near15 = weighted_places()
    print(f"{len(places)} ZIPs weighted in {time.perf_counter() - t0:.1f}s", file=sys.stderr)

    tables = {
        "provider": (Provider, PROVIDER_COLUMNS),
        "specialty": (ProviderSpecialty, SPECIALTY_COLUMNS),
        "location": (PracticeLocation, LOCATION_COLUMNS),
    }
    extra = {key: defaults(model, cols) for key, (model, cols) in tables.items()}
    statements = {
        key: (
            model._meta.db_table,
            [*cols, *(c for c, _ in extra[key])],
            tuple(v for _, v in extra[key]),
        )
        for key, (model, cols) in tables.items()
    }

    counts = dict.fromkeys(tables, 0)
    with transaction.atomic():
        raw = connection.connection
        if connection.vendor == "sqlite":
            raw.execute("PRAGMA cache_size = -1000000")

        def flush(key, rows):
            table, columns, tail = statements[key]
            rows = [row + tail for row in rows]
            if connection.vendor == "postgresql":
                with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            counts[key] += len(rows)

        buffers = {key: [] for key in tables}
        rows = generate(args.n, args.seed, places, cum_zip, near15, codes, cum_codes, by_classification)
        for i, (provider, specialties, locations) in enumerate(rows, 1):
            buffers["provider"].append(provider)
            buffers["specialty"] += specialties
            buffers["location"] += locations
            if i % BATCH == 0 or i == args.n:
                for key in ("provider", "specialty", "location"):  # parents first: FKs are checked per row
                    flush(key, buffers[key])
                    buffers[key] = []
                if i % (BATCH * 4) == 0 or i == args.n:
                    print(f"{i} providers, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    entries = refresh_search_index()
    if entries is not None:
        print(f"{entries} search-index rows, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    print(
        f"{counts['provider']} providers, {counts['specialty']} specialties, {counts['location']} locations "
        f"in {time.perf_counter() - t0:.1f}s ({connection.vendor})"
    )


if __name__ == "__main__":
    main()
