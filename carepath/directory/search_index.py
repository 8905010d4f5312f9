"""Keep ProviderSearchEntry in step with the directory tables: delete a batch of providers' entries and write them
again from Provider, ProviderSpecialty and PracticeLocation, set-based where the database has trigonometry."""

from django.db import connection, transaction
from django.db.utils import DatabaseError

from carepath.directory.models import CELLS_PER_DEGREE, ProviderSearchEntry, grid_cell, unit_vector

SOURCE = """
FROM directory_practicelocation l
JOIN directory_provider p ON p.npi = l.provider_id
JOIN directory_providerspecialty s ON s.provider_id = l.provider_id
WHERE p.active = %s AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL
"""
INSERT_INTO = (
    "INSERT INTO directory_providersearchentry "
    "(taxonomy_id, provider_id, latitude, longitude, cell, x, y, z, rating_score, is_primary) "
)


def position_sql(latitude, longitude):
    """cell, x, y, z of an entry in SQL, from two expressions for its coordinates (grid_cell and unit_vector)."""
    return (
        f"CAST(floor({latitude} * {CELLS_PER_DEGREE}) AS INTEGER) * 1000 "
        f"+ CAST(floor({longitude} * {CELLS_PER_DEGREE}) AS INTEGER), "
        f"cos(radians({latitude})) * cos(radians({longitude})), cos(radians({latitude})) * sin(radians({longitude})), "
        f"sin(radians({latitude}))"
    )


INSERT_SQL = (
    f"{INSERT_INTO}SELECT s.taxonomy_id, l.provider_id, l.latitude, l.longitude, "
    f"{position_sql('l.latitude', 'l.longitude')}, p.rating_score, s.is_primary" + SOURCE
)
SELECT_SQL = "SELECT s.taxonomy_id, l.provider_id, l.latitude, l.longitude, p.rating_score, s.is_primary" + SOURCE
CHUNK = 900  # providers per statement: below SQLite's smallest limit on bound parameters


def _database_has_trigonometry():
    """PostgreSQL always; SQLite when it was built with its math functions (most are, not all)."""
    if connection.vendor == "postgresql":
        return True
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT cos(radians(0)) + floor(0.5)")
        return True
    except DatabaseError:
        return False


def _write_in_python(cursor, sql, params):
    cursor.execute(sql, params)
    written = 0
    while rows := cursor.fetchmany(5000):
        entries = []
        for taxonomy_id, npi, lat, lng, score, primary in rows:
            x, y, z = unit_vector(lat, lng)
            entries.append(
                ProviderSearchEntry(
                    taxonomy_id=taxonomy_id,
                    provider_id=npi,
                    latitude=lat,
                    longitude=lng,
                    cell=grid_cell(lat, lng),
                    x=x,
                    y=y,
                    z=z,
                    rating_score=score,
                    is_primary=primary,
                )
            )
        ProviderSearchEntry.objects.bulk_create(entries, batch_size=2000)
        written += len(entries)
    return written


def _write(where, params, in_sql):
    with connection.cursor() as cursor:
        if in_sql:
            cursor.execute(INSERT_SQL + where, params)
            return cursor.rowcount
        return _write_in_python(cursor, SELECT_SQL + where, params)


@transaction.atomic
def refresh(npis=None):
    """Rebuild the entries of these providers (every provider when npis is None). Returns the rows written."""
    in_sql = _database_has_trigonometry()
    if npis is None:
        ProviderSearchEntry.objects.all()._raw_delete(connection.alias)
        return _write("", [True], in_sql)
    npis, written = list(npis), 0
    for start in range(0, len(npis), CHUNK):
        chunk = npis[start : start + CHUNK]
        ProviderSearchEntry.objects.filter(provider_id__in=chunk)._raw_delete(connection.alias)
        written += _write(f" AND l.provider_id IN ({', '.join(['%s'] * len(chunk))})", [True, *chunk], in_sql)
    return written
