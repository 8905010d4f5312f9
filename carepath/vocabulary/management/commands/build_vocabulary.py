import time

from django.core.management.base import BaseCommand

from carepath.vocabulary.build import build_vocabulary
from carepath.vocabulary.models import Concept


class Command(BaseCommand):
    help = "Rebuild the search vocabulary (one concept per live guide and slideshow) from the published content."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the vocabulary holds concepts already"
        )

    def handle(self, if_empty=False, **options):
        if if_empty and Concept.objects.exists():
            self.stdout.write("The vocabulary exists already; not rebuilt.")
            return
        started = time.perf_counter()
        count = build_vocabulary()
        self.stdout.write(f"Vocabulary: {count} concepts in {time.perf_counter() - started:.1f} s.")
