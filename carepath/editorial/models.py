"""Medical reviewers, the review record a page carries, the "Medical review" workflow task and its approvals."""

import datetime
import re

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, Panel
from wagtail.models import Task, TaskState
from wagtail.search import index
from wagtail.snippets.models import register_snippet

REVIEWERS_GROUP = "Medical reviewers"
# Licences and degrees that qualify someone to review consumer health content; fellowships (FACS, FACP) and
# other letters may follow them, but at least one of these must be there.
CLINICAL_CREDENTIALS = (
    "MD DO MBBS NP APRN CNS CNM CRNA PA PA-C RN BSN MSN DNP PharmD RPh PT DPT OT OTR RD RDN CDCES "
    "DDS DMD OD DPM DC PsyD PhD LCSW"
).split()
_CREDENTIAL_KEYS = {c.upper().replace("-", "").replace(".", ""): c for c in CLINICAL_CREDENTIALS}


NO_CREDENTIALS = "A medical reviewer needs credentials (MD, DO, NP, PA, RN, PharmD, PT, ...)."


def credential_tokens(value):
    return [t for t in re.split(r"[\s,;/]+", value or "") if t]


def validate_credentials(value):
    tokens = credential_tokens(value)
    if not tokens:
        raise ValidationError(NO_CREDENTIALS)
    if not any(t.upper().replace("-", "").replace(".", "") in _CREDENTIAL_KEYS for t in tokens):
        raise ValidationError(
            "None of %(given)s is a clinical credential; give at least one of MD, DO, NP, PA, RN, PharmD, PT, "
            "RD, DDS, PsyD (fellowships such as FACS may follow it).",
            params={"given": ", ".join(tokens)},
        )


class MedicalReviewer(index.Indexed, models.Model):
    """A clinician who reviews content, tied to their CMS account. Their name and credentials appear on the
    pages they reviewed, linking to their public page /reviewers/<slug>/."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="medical_reviewer",
        help_text="The CMS account this clinician approves reviews with",
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, blank=True, help_text="Their page: /reviewers/<slug>/")
    credentials = models.CharField(
        max_length=100,
        validators=[validate_credentials],
        help_text="For example: MD, FACS or PharmD",
        error_messages={"blank": NO_CREDENTIALS},
    )
    specialty = models.CharField(max_length=200, blank=True)
    bio = models.TextField(max_length=600, blank=True, help_text="Two or three plain sentences")
    photo = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    panels = [
        FieldPanel("user"),
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("credentials"),
        FieldPanel("specialty"),
        FieldPanel("bio"),
        FieldPanel("photo"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        self.slug = self.slug or self.unique_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("reviewer_profile", args=[self.slug])

    @property
    def display_name(self):
        return f"{self.name}, {self.credentials}"

    def unique_slug(self):
        base = slugify(self.name) or "reviewer"
        slug, n = base, 1
        while MedicalReviewer.objects.filter(slug=slug).exclude(pk=self.pk).exists():
            n += 1
            slug = f"{base}-{n}"
        return slug

    def clean(self):
        if not self.user_id:
            raise ValidationError({"user": "Choose the CMS account this reviewer approves reviews with."})
        self.slug = self.slug or self.unique_slug()

    def can_approve(self):
        return bool(self.user_id) and self.user.groups.filter(name=REVIEWERS_GROUP).exists()

    def pages_reviewed(self):
        """Live pages whose current review record names this reviewer, most recently reviewed first."""
        from carepath.conditions.models import ConditionPage, SlideshowPage

        pages = list(ConditionPage.objects.live().filter(reviewers=self)) + list(
            SlideshowPage.objects.live().filter(reviewers=self)
        )
        return sorted(pages, key=lambda p: (p.last_reviewed or datetime.date.min, p.title), reverse=True)


register_snippet(MedicalReviewer)


def add_months(day, months):
    """The same day `months` later; the 29th-31st fall back to the month's last day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class MedicalReviewMixin(models.Model):
    """The review record a page carries: who reviewed it, when, and when the next review is due.

    The record is written only by the Medical review workflow (see `record_publication`): editors see it but cannot
    type it in, and a page published without an approval of that very revision shows "not yet medically reviewed".
    """

    # How long a review stays current; a page type overrides it (e.g. a fast-moving topic: 12).
    review_period_months = 36

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

    def default_next_review(self, reviewed_on):
        return add_months(reviewed_on, self.review_period_months)


class ReviewRecordPanel(Panel):
    """The page's review record as readers see it, and its latest approvals: shown to editors, never typed in."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "editorial/admin/review_record_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            page = self.instance
            live = type(page).objects.filter(pk=page.pk).first() if page.pk else None
            context["record"] = live
            context["reviewer_list"] = list(live.reviewers.all()) if live else []
            context["approvals"] = (
                list(MedicalReview.objects.filter(page_id=page.pk).select_related("reviewer")[:5]) if page.pk else []
            )
            return context


def review_panel():
    """The admin panels for a page's author and its review record (written by the Medical review workflow)."""
    return MultiFieldPanel([FieldPanel("author"), ReviewRecordPanel()], heading="Authorship and medical review")


class MedicalReview(models.Model):
    """One approval in the Medical review workflow, kept beside the revision it approved.

    A full review sets the page's review record (this reviewer, this date, the next review due). A typo-fix
    approval keeps the record of the review it rests on (`basis`), so its date does not move."""

    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="medical_reviews")
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, on_delete=models.SET_NULL, related_name="medical_reviews"
    )
    task_state = models.OneToOneField(
        "wagtailcore.TaskState", null=True, on_delete=models.SET_NULL, related_name="medical_review"
    )
    reviewer = models.ForeignKey(MedicalReviewer, on_delete=models.PROTECT, related_name="approvals")
    approved_at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)
    typo_fix = models.BooleanField(default=False)
    basis = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="typo_fixes",
        help_text="For a typo fix: the full review whose date the page keeps",
    )
    reviewed_on = models.DateField()
    next_review_due = models.DateField()

    class Meta:
        ordering = ["-approved_at", "-pk"]
        get_latest_by = "approved_at"

    def __str__(self):
        kind = "typo fix approved" if self.typo_fix else "reviewed"
        return f"{self.page.title}: {kind} by {self.reviewer} on {timezone.localdate(self.approved_at)}"

    @property
    def record(self):
        """The full review this approval's page record rests on."""
        return self.basis or self

    def clean(self):
        errors = {}
        if self.reviewed_on and self.reviewed_on > timezone.localdate():
            errors["reviewed_on"] = "The review date cannot be in the future."
        if self.reviewed_on and self.next_review_due and self.next_review_due <= self.reviewed_on:
            errors["next_review_due"] = "The next review must be due after the review date."
        if errors:
            raise ValidationError(errors)


class ApproveReviewForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text="Kept beside the revision you approve; the editor sees it in the history.",
    )
    next_review_due = forms.DateField(
        label="Next review due",
        required=False,
        help_text="Leave empty for the page type's review period (three years unless set otherwise).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_next_review_due(self):
        due = self.cleaned_data.get("next_review_due")
        if due and due <= timezone.localdate():
            raise ValidationError("The next review must be due after the review date (today).")
        return due


class TypoFixForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text="The page keeps the date of its last full review; say what was corrected.",
    )


class RequestChangesForm(forms.Form):
    comment = forms.CharField(
        label="What needs to change",
        widget=forms.Textarea({"rows": 3}),
        help_text="The editor sees this beside the revision you reviewed.",
    )


class MedicalReviewTask(Task):
    """Approval by a clinician: a member of the "Medical reviewers" group with a reviewer profile, who did not
    write the revision under review."""

    admin_form_fields = Task.admin_form_fields

    class Meta:
        verbose_name = "Medical review task"
        verbose_name_plural = "Medical review tasks"

    @classmethod
    def get_description(cls):
        return "A medical reviewer (not the author of the change) approves it or asks for changes"

    @staticmethod
    def reviewer_for(user):
        """The user's reviewer profile when they may approve reviews, else None."""
        if not user.is_authenticated or not user.groups.filter(name=REVIEWERS_GROUP).exists():
            return None
        return MedicalReviewer.objects.filter(user=user).first()

    @staticmethod
    def authored_by(revision, user):
        return revision is not None and revision.user_id == user.pk

    def _may_review(self, obj, user):
        if self.reviewer_for(user) is None:
            return False
        state = obj.current_workflow_task_state
        return not (
            self.authored_by(obj.get_latest_revision(), user) or (state and self.authored_by(state.revision, user))
        )

    def user_can_access_editor(self, obj, user):
        return self.reviewer_for(user) is not None

    def locked_for_user(self, obj, user):
        # Editors keep editing while a review waits: a new edit simply needs the reviewer to look again.
        return False

    def get_actions(self, obj, user):
        if not self._may_review(obj, user):
            return []
        actions = [("reject", "Request changes", True), ("approve", "Approve", True)]
        if current_review(obj) is not None:
            actions.append(("approve_typo_fix", "Approve as typo fix only", True))
        return actions

    def get_form_for_action(self, action):
        return {"approve": ApproveReviewForm, "approve_typo_fix": TypoFixForm}.get(action, RequestChangesForm)

    def get_task_states_user_can_moderate(self, user, **kwargs):
        if self.reviewer_for(user) is None:
            return TaskState.objects.none()
        return self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS).exclude(revision__user=user)

    @transaction.atomic
    def on_action(self, task_state, user, action_name, **kwargs):
        page = task_state.workflow_state.content_object.specific
        # The admin's edit view saves a reviewer's own changes as a new revision before it calls this: that
        # revision is theirs, and nobody approves their own edit.
        if not self._may_review(page, user):
            raise PermissionDenied("Only a medical reviewer who did not write this change can review it.")
        if action_name == "approve":
            approve_review(task_state, user, **kwargs)
        elif action_name == "approve_typo_fix":
            approve_review(task_state, user, typo_fix=True, **kwargs)
        elif action_name == "reject":
            task_state.reject(user=user, comment=kwargs.get("comment", ""))
        else:
            raise PermissionDenied(f"Unknown review action {action_name!r}.")


def current_review(page):
    """The approval behind the page's live version, when that version was approved."""
    if not page.live or not page.live_revision_id:
        return None
    return MedicalReview.objects.filter(revision_id=page.live_revision_id).select_related("basis").first()


def approve_review(task_state, user, comment="", typo_fix=False, next_review_due=None):
    """Record the approval of the revision under review, then let the workflow finish (which publishes it).

    The revision approved is the page's latest: that is what the workflow publishes."""
    page = task_state.workflow_state.content_object.specific
    reviewer = MedicalReviewTask.reviewer_for(user)
    revision = page.get_latest_revision()
    today = timezone.localdate()
    basis = None
    if typo_fix:
        live = current_review(page)
        if live is None:
            raise PermissionDenied("This page has no current medical review to keep: approve it as a full review.")
        basis = live.record
    review = MedicalReview(
        page=page,
        revision=revision,
        task_state=task_state,
        reviewer=reviewer,
        comment=comment or "",
        typo_fix=bool(typo_fix),
        basis=basis,
        reviewed_on=basis.reviewed_on if basis else today,
        next_review_due=basis.next_review_due if basis else (next_review_due or page.default_next_review(today)),
    )
    review.full_clean(exclude=["page", "revision", "task_state", "basis"])
    review.save()
    if revision.pk != task_state.revision_id:
        task_state.revision = revision
        task_state.save(update_fields=["revision"])
    stored = f"[Typo fix only] {comment}".strip() if typo_fix else comment
    task_state.approve(user=user, comment=stored or "")
    return review


def record_publication(page, revision):
    """Set a just-published page's review record from the approval of exactly that revision; a revision
    published without one (an administrator's bypass, a revert, a copy) leaves the page not yet reviewed."""
    review = MedicalReview.objects.filter(revision=revision).select_related("basis").first() if revision else None
    record = review.record if review else None
    model = type(page)
    model.objects.filter(pk=page.pk).update(
        last_reviewed=record.reviewed_on if record else None,
        next_review_due=record.next_review_due if record else None,
    )
    field = model._meta.get_field("reviewers")
    through, page_column = field.remote_field.through, field.m2m_column_name()
    through.objects.filter(**{page_column: page.pk}).delete()
    if record:
        through.objects.create(**{page_column: page.pk, field.m2m_reverse_name(): record.reviewer_id})
    page.last_reviewed = record.reviewed_on if record else None
    page.next_review_due = record.next_review_due if record else None
    return review
