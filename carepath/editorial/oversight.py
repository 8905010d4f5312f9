"""What is due for medical review: one list for the admin report, its CSV, the dashboard panel and
`carepath review_report`."""

import csv
import datetime
from dataclasses import dataclass

from django.utils import timezone

DUE_SOON_DAYS = 60
CSV_HEADINGS = ["Title", "URL", "Type", "Status", "Next review due", "Last reviewed", "Last reviewer", "Owner"]


@dataclass
class DueRow:
    page: object
    status: str  # "overdue", "due soon" or "not yet reviewed"
    next_review_due: datetime.date | None
    last_reviewed: datetime.date | None
    last_reviewer: str
    owner: str

    @property
    def page_type(self):
        return type(self.page)._meta.verbose_name.capitalize()

    def as_csv_row(self):
        return [
            self.page.title,
            self.page.url or "",
            self.page_type,
            self.status,
            self.next_review_due.isoformat() if self.next_review_due else "",
            self.last_reviewed.isoformat() if self.last_reviewed else "",
            self.last_reviewer,
            self.owner,
        ]


def _owner_name(user):
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def pages_due_for_review(today=None, within_days=DUE_SOON_DAYS):
    """Live guides and slideshows that are overdue, due within `within_days`, or were never reviewed: overdue
    first (most overdue first), then due soon (soonest first), then never reviewed (A-Z)."""
    from carepath.conditions.models import ConditionPage, SlideshowPage

    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=within_days)
    rows = []
    for model in (ConditionPage, SlideshowPage):
        pages = model.objects.live().select_related("owner").prefetch_related("reviewers")
        for page in pages.filter(next_review_due__lte=horizon) | pages.filter(last_reviewed__isnull=True):
            reviewers = list(page.reviewers.all())
            if page.last_reviewed and reviewers and page.next_review_due:
                status = "overdue" if page.next_review_due < today else "due soon"
            else:
                status = "not yet reviewed"
            rows.append(
                DueRow(
                    page=page,
                    status=status,
                    next_review_due=page.next_review_due if status != "not yet reviewed" else None,
                    last_reviewed=page.last_reviewed if status != "not yet reviewed" else None,
                    last_reviewer=", ".join(r.display_name for r in reviewers) if status != "not yet reviewed" else "",
                    owner=_owner_name(page.owner),
                )
            )
    order = {"overdue": 0, "due soon": 1, "not yet reviewed": 2}
    rows.sort(key=lambda r: (order[r.status], r.next_review_due or datetime.date.max, r.page.title))
    return rows


def write_csv(rows, stream):
    writer = csv.writer(stream)
    writer.writerow(CSV_HEADINGS)
    for row in rows:
        writer.writerow(row.as_csv_row())
