"""Keep ProviderSearchEntry in step with the directory tables: delete a batch of providers' entries and write them
again from Provider, ProviderSpecialty and PracticeLocation."""

from django.db import connection, transaction

from carepath.directory.models import ProviderSearchEntry, unit_vector

SELECT_SQL = """
SELECT s.taxonomy_id, l.provider_id, l.latitude, l.longitude, p.rating_score, s.is_primary
FROM directory_practicelocation l
JOIN directory_provider p ON p.npi = l.provider_id
JOIN directory_providerspecialty s ON s.provider_id = l.provider_id
WHERE p.active = %s AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL
"""
CHUNK = 900  # providers per statement: below SQLite's smallest limit on bound parameters


def _write(rows):
    entries = []
    for taxonomy_id, npi, lat, lng, score, primary in rows:
        x, y, z = unit_vector(lat, lng)
        entries.append(
            ProviderSearchEntry(
                taxonomy_id=taxonomy_id,
                provider_id=npi,
                latitude=lat,
                longitude=lng,
                x=x,
                y=y,
                z=z,
                rating_score=score,
                is_primary=primary,
            )
        )
    ProviderSearchEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


@transaction.atomic
def refresh(npis=None):
    """Rebuild the entries of these providers (every provider when npis is None). Returns the rows written."""
    written = 0
    if npis is None:
        ProviderSearchEntry.objects.all()._raw_delete(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(SELECT_SQL, [True])
            while rows := cursor.fetchmany(5000):
                written += _write(rows)
        return written
    npis = list(npis)
    for start in range(0, len(npis), CHUNK):
        chunk = npis[start : start + CHUNK]
        ProviderSearchEntry.objects.filter(provider_id__in=chunk)._raw_delete(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(SELECT_SQL + f" AND l.provider_id IN ({', '.join(['%s'] * len(chunk))})", [True, *chunk])
            written += _write(cursor.fetchall())
    return written
