from django.core.management.base import BaseCommand

from carepath.editorial.oversight import DUE_SOON_DAYS, pages_due_for_review, write_csv


class Command(BaseCommand):
    help = (
        f"Print as CSV the live guides and slideshows whose medical review is overdue, due within {DUE_SOON_DAYS} "
        "days, or never happened (the same list as the admin report)."
    )

    def handle(self, **options):
        write_csv(pages_due_for_review(), self.stdout)
