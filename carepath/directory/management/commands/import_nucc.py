from django.core.management.base import BaseCommand, CommandError

from carepath.directory.nucc import NuccFormatError, import_nucc_file


class Command(BaseCommand):
    help = "Load the NUCC Health Care Provider Taxonomy CSV (any release; columns are read by name)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to nucc_taxonomy_<version>.csv")

    def handle(self, file, **options):
        try:
            result = import_nucc_file(file)
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except (NuccFormatError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: {exc}") from None
        for line, reason in result.skipped:
            self.stderr.write(f"{file}:{line}: skipped: {reason}")
        self.stdout.write(
            f"{result.created} taxonomy codes added, {result.updated} updated, {len(result.skipped)} rows skipped"
        )
