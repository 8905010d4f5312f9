"""PostgreSQL only: keep the rows of Wagtail's search index table small, so that the GIN probes of
`carepath_ranked_pages` read few table pages.

Each row holds a page's title and body vectors and (on PostgreSQL) its title and body text; PostgreSQL keeps a
value inside the row until the row passes about 2 kB, so with the MedQuAD library four rows filled an 8 kB page
and a probe for a common word ("disease", in 4,000 of 5,500 pages) visited 1,300 of them. With
toast_tuple_target at its minimum the large values move to the table's TOAST store and the rows themselves fit
about twenty to a page (measured: 1,312 pages -> 282; that probe read 287 buffers). The probes need only each
row's page id; the re-rank of the best 50 still reads their body vectors, from the TOAST store.

Rows already written move when they are next written; this migration rewrites the table once (VACUUM FULL, which
locks it while it runs: 1.9 s measured for 5,500 guides). On other databases it does nothing."""

from django.db import migrations

TABLE = "wagtailsearch_indexentry"


def compact(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (toast_tuple_target = 128)")
        schema_editor.execute(f"VACUUM FULL ANALYZE {TABLE}")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (toast_tuple_target)")


class Migration(migrations.Migration):
    atomic = False  # VACUUM cannot run inside a transaction

    dependencies = [("site_search", "0001_postgres_ranking")]

    operations = [migrations.RunPython(compact, restore, elidable=False)]
