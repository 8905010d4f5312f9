from django.core.management.base import BaseCommand, CommandError

from carepath.conditions.demo.loader import DemoLibraryError, load_demo_library


class Command(BaseCommand):
    help = "Load the demo library of condition guides and slideshows. Pages that already exist are kept."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when any condition guide exists (used by make run)",
        )

    def handle(self, if_empty=False, **options):
        from carepath.conditions.models import ConditionPage

        if if_empty and ConditionPage.objects.exists():
            from carepath.core.site import ensure_site_structure

            ensure_site_structure()  # a site from before the Medical review workflow gets it
            self.stdout.write("Condition guides exist already; the demo library was not loaded.")
            return
        try:
            result = load_demo_library()
        except DemoLibraryError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Demo library: {len(result.created)} pages created, {len(result.kept)} kept as they were, "
            f"{result.glossary_created} glossary terms added."
        )
        from carepath.directory.demo import load_demo_directory

        created = load_demo_directory()
        self.stdout.write(f"Demo directory: {created} synthetic providers created.")
