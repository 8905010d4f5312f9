"""Admin views of the medical review: the "Review due" report (with CSV export) and its dashboard panel."""

from django.urls import reverse
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.reports import ReportView

from carepath.editorial.oversight import DUE_SOON_DAYS, pages_due_for_review


class ReviewDueReportView(ReportView):
    page_title = "Medical review due"
    header_icon = "time"
    index_url_name = "medical_review_due"
    index_results_url_name = "medical_review_due_results"
    results_template_name = "wagtailadmin/reports/base_report_results.html"
    no_results_message = f"No guide or slideshow is overdue or due for review within {DUE_SOON_DAYS} days."
    paginate_by = 100
    list_export = [
        "page.title",
        "page.url",
        "page_type",
        "status",
        "next_review_due",
        "last_reviewed",
        "last_reviewer",
        "owner",
    ]
    export_headings = {
        "page.title": "Title",
        "page.url": "URL",
        "page_type": "Type",
        "status": "Status",
        "next_review_due": "Next review due",
        "last_reviewed": "Last reviewed",
        "last_reviewer": "Last reviewer",
        "owner": "Owner",
    }
    export_filename = "medical-review-due"
    columns = [
        TitleColumn(
            "title",
            label="Page",
            accessor="page.title",
            get_url=lambda row: reverse("wagtailadmin_pages:edit", args=[row.page.pk]),
        ),
        Column("page_type", label="Type"),
        Column("status", label="Status"),
        DateColumn("next_review_due", label="Next review due"),
        DateColumn("last_reviewed", label="Last reviewed"),
        Column("last_reviewer", label="Last reviewer"),
        Column("owner", label="Owner"),
    ]

    def get_queryset(self):
        return pages_due_for_review()


class ReviewDuePanel(Component):
    """Dashboard: how many pages are overdue, due soon or never reviewed, and the first few of them."""

    name = "medical_review_due"
    template_name = "editorial/admin/review_due_panel.html"
    order = 150

    def get_context_data(self, parent_context):
        rows = pages_due_for_review()
        return {
            "rows": [r for r in rows if r.status != "not yet reviewed"][:8],
            "overdue": sum(r.status == "overdue" for r in rows),
            "due_soon": sum(r.status == "due soon" for r in rows),
            "unreviewed": sum(r.status == "not yet reviewed" for r in rows),
            "report_url": reverse("medical_review_due"),
            "days": DUE_SOON_DAYS,
        }
