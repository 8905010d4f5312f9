import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from wagtail.search.models import IndexEntry

from carepath.conditions.medquad import DEFAULT_BATCH_SIZE, import_medquad
from carepath.directory.nppes import ProgressLine
from carepath.vocabulary.build import build_vocabulary


class Command(BaseCommand):
    help = (
        "Load MedQuAD (the NIH question-answer collection, CC BY 4.0) as condition guides: one guide per document, "
        "sections from its answers, credited to its source. Keyed by source and document id, so running it again "
        "updates what changed and creates nothing twice; a malformed file is reported and skipped. The search "
        "vocabulary is rebuilt at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="the MedQuAD folder (its XML files are read from every sub-folder)")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="documents per transaction")

    def handle(self, directory, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        progress = None
        if options["verbosity"] > 0:
            line = ProgressLine(
                lambda text: self.stderr.write(text, ending=""), self.stderr.isatty(), label="MedQuAD", unit="files"
            )

            def progress(done, total):
                line(done, total, done)

        try:
            result = import_medquad(
                directory,
                batch_size=batch_size,
                progress=progress,
                on_skip=lambda skipped: self.stderr.write(f"skipped {skipped}"),
            )
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename}: no such directory") from None
        self.stdout.write(result.summary())
        # Imported pages are written without Wagtail's publish signal (it would rebuild the vocabulary once per
        # page), so the search vocabulary is rebuilt once here; a re-run after an interruption rebuilds it too.
        started = time.monotonic()
        count = build_vocabulary()
        self.stdout.write(f"Vocabulary: {count} concepts in {time.monotonic() - started:.1f} s.")
        if connection.vendor == "postgresql" and not connection.in_atomic_block:  # VACUUM cannot run in a transaction
            # Thousands of pages written at once leave the search index table with dead rows and a full GIN
            # pending list until autovacuum comes round: measured, its probes took 52 ms before and 4 ms after.
            started = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {IndexEntry._meta.db_table}")
            self.stdout.write(f"Search index vacuumed and analysed in {time.monotonic() - started:.1f} s.")
