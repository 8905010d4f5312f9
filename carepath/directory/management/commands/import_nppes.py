from zipfile import BadZipFile

from django.core.management.base import BaseCommand, CommandError

from carepath.directory.nppes import (
    DEFAULT_BATCH_SIZE,
    NotMigrated,
    NppesFormatError,
    ProgressLine,
    import_nppes_file,
)


class Command(BaseCommand):
    help = (
        "Load providers from the NPPES NPI registry: the monthly npidata_pfile_*.csv, the zip CMS ships it in, "
        "or a weekly update. Rows are upserted by NPI in batches, each in its own transaction, so an interrupted "
        "import can simply be run again. Load the NUCC taxonomy first (import_nucc): rows whose taxonomy codes "
        "are not in it are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="npidata_pfile_<start>-<end>.csv, or the CMS zip that holds it")
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="a weekly update file; imported exactly like a full file (both list deactivated NPIs), "
            "so a full file may be imported with or without this flag",
        )
        parser.add_argument("--report", help="where to write the skipped rows (default: <name>.errors.csv beside FILE)")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")

    def handle(self, file, incremental, report, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        progress = None
        if options["verbosity"] > 0:
            progress = ProgressLine(lambda text: self.stderr.write(text, ending=""), self.stderr.isatty())
        try:
            result = import_nppes_file(
                file, report=report, batch_size=batch_size, incremental=incremental, progress=progress
            )
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename}: no such file") from None
        except (NppesFormatError, BadZipFile, OSError) as exc:
            raise CommandError(f"{file}: {exc}") from None
        except NotMigrated as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.summary())
