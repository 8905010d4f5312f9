"""PostgreSQL only: the full-text ranking of `carepath.search.search._postgres_ranked_ids` as one function.

One call instead of five round trips (lexemes, a transaction around the planner setting, the GIN probes, the
re-rank), and the planner setting scoped to the function by its SET clause rather than by a transaction. The
ranking itself is the one described in `_postgres_ranked_ids`; this migration only moves it into the database.
On other databases it does nothing."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION carepath_ranked_pages(
    cfg regconfig, clauses text[], content_types integer[], wanted integer, rerank integer,
    title_weight double precision, rank_weight double precision, normalization integer
) RETURNS TABLE (page_id integer, score double precision)
LANGUAGE sql STABLE
-- The GIN probes must use their indexes: the planner does not count the cost of decompressing each row's body
-- vector and would scan the table for any common word, five to ten times slower.
SET enable_seqscan = off
AS $$
WITH parsed AS MATERIALIZED (
    SELECT min(u.n) AS n, to_tsquery(coalesce(cfg, current_setting('default_text_search_config')::regconfig), u.clause) AS tq
    FROM unnest(clauses) WITH ORDINALITY AS u(clause, n)
    GROUP BY 2
), lexemes AS MATERIALIZED (
    SELECT n, tq FROM parsed WHERE tq::text <> ''  -- a clause of stop words only
), hits AS MATERIALIZED (  -- page ids as integers: grouping and sorting text ids by collation costs tens of ms
    SELECT l.n, false AS in_title, e.object_id::integer AS page_id
    FROM lexemes l JOIN wagtailsearch_indexentry e ON e.body @@ l.tq
    WHERE e.content_type_id = ANY(content_types)
    UNION ALL
    SELECT l.n, true, e.object_id::integer
    FROM lexemes l JOIN wagtailsearch_indexentry e ON e.title @@ l.tq
    WHERE e.content_type_id = ANY(content_types)
), worth AS (
    SELECT n, ln((SELECT count(*) FROM wagtailcore_page) + 1.0) - ln(count(*) + 1.0) AS idf
    FROM (SELECT DISTINCT n, page_id FROM hits) holders GROUP BY n
), best AS (
    SELECT h.page_id, sum(w.idf * CASE WHEN h.in_title THEN title_weight ELSE 1.0 END) AS score
    FROM hits h JOIN worth w USING (n)
    GROUP BY h.page_id
    ORDER BY 2 DESC, h.page_id
    LIMIT greatest(wanted, rerank)
), anyone AS (
    SELECT string_agg('(' || tq::text || ')', ' | ')::tsquery AS tq FROM lexemes
)
SELECT p.id, b.score + rank_weight * (ts_rank(e.title, a.tq, normalization) + ts_rank(e.body, a.tq, normalization))
FROM best b
JOIN wagtailsearch_indexentry e ON e.object_id = b.page_id::text AND e.content_type_id = ANY(content_types)
JOIN wagtailcore_page p ON p.id = b.page_id
CROSS JOIN anyone a
WHERE p.live
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP FUNCTION IF EXISTS carepath_ranked_pages(regconfig, text[], integer[], integer, integer, "
            "double precision, double precision, integer)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("wagtailsearch", "0010_add_text_fields"),
        ("wagtailcore", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
