from django.core.management.base import BaseCommand

from carepath.conditions.demo.library import MAX_GRADE
from carepath.conditions.models import ConditionPage, SlideshowPage
from carepath.conditions.readability import page_grade


class Command(BaseCommand):
    help = (
        f"Print the Flesch-Kincaid reading grade of every live guide and slideshow CarePath wrote "
        f"(goal: {MAX_GRADE:g} or lower); imported guides are counted, not measured."
    )

    def add_arguments(self, parser):
        parser.add_argument("--max-grade", type=float, default=MAX_GRADE, help="exit 1 if any page is above this")

    def handle(self, max_grade, **options):
        over = 0
        # Imported guides are their publisher's text, not ours: our grade goal does not apply to them.
        guides = ConditionPage.objects.live()
        imported = guides.exclude(imported_from="").count()
        pages = list(guides.filter(imported_from="").order_by("title")) + list(
            SlideshowPage.objects.live().order_by("title")
        )
        for page in pages:
            grade = page_grade(page)
            flag = "  ABOVE GOAL" if grade > max_grade else ""
            over += bool(flag)
            self.stdout.write(f"{grade:5.1f}  {page.url}{flag}")
        self.stdout.write(f"{len(pages)} pages, {over} above grade {max_grade:g}")
        if imported:
            self.stdout.write(f"{imported} imported guides not measured (their text is their source's, not ours)")
        if over:
            raise SystemExit(1)
