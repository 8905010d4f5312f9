from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.search import index
from wagtail.snippets.models import register_snippet


class MedicalReviewer(index.Indexed, models.Model):
    """A clinician who reviews content. Their name and credentials appear on the pages they reviewed."""

    name = models.CharField(max_length=200)
    credentials = models.CharField(max_length=100, help_text="For example: MD, FACS")
    specialty = models.CharField(max_length=200, blank=True)

    panels = [FieldPanel("name"), FieldPanel("credentials"), FieldPanel("specialty")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return f"{self.name}, {self.credentials}"

    def clean(self):
        if not self.credentials.strip():
            raise ValidationError({"credentials": "A medical reviewer needs credentials (MD, DO, NP, RN, ...)."})


register_snippet(MedicalReviewer)


class MedicalReviewMixin(models.Model):
    """The review record a page carries: who reviewed it, when, and when the next review is due."""

    last_reviewed = models.DateField(null=True, blank=True)
    next_review_due = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        self.clean_review()

    @property
    def is_reviewed(self):
        return bool(self.last_reviewed and self.reviewers.exists())

    @property
    def review_overdue(self):
        return bool(self.next_review_due and self.next_review_due < timezone.localdate())

    def clean_review(self, reviewers=None):
        """Dates always; the reviewer list too when the caller knows it (an admin form knows it before the
        many-to-many is saved, the model does not)."""
        errors = {}
        today = timezone.localdate()
        if self.last_reviewed and self.last_reviewed > today:
            errors["last_reviewed"] = "The review date cannot be in the future."
        if self.next_review_due and self.last_reviewed and self.next_review_due <= self.last_reviewed:
            errors["next_review_due"] = "The next review must be due after the last review date."
        if self.next_review_due and not self.last_reviewed:
            errors["next_review_due"] = "Set the last review date before a next review date."
        if reviewers is not None:
            if self.last_reviewed and not reviewers:
                errors["reviewers"] = "A reviewed page names at least one medical reviewer."
            if reviewers and not self.last_reviewed:
                errors["last_reviewed"] = "Give the date of the review these reviewers made."
        if errors:
            raise ValidationError(errors)


def review_panel():
    """The admin panel for a page's author and review record."""
    fields = ["author", "reviewers", "last_reviewed", "next_review_due"]
    return MultiFieldPanel([FieldPanel(f) for f in fields], heading="Authorship and medical review")


class ReviewedPageForm(WagtailAdminPageForm):
    """Admin form of a page with a review record: checks the reviewers chosen in this very form."""

    def clean(self):
        cleaned = super().clean()
        if "reviewers" in self.fields and "reviewers" not in self.errors:
            page = self.instance
            page.last_reviewed = cleaned.get("last_reviewed")
            page.next_review_due = cleaned.get("next_review_due")
            try:
                page.clean_review(list(cleaned.get("reviewers") or []))
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    if field not in self.errors:
                        self.add_error(field, messages)
        return cleaned
