from wagtail.log_actions import log

from carepath.editorial.models import MedicalReviewMixin, record_publication

UNREVIEWED_ACTION = "carepath.published_unreviewed"


def page_published_handler(sender, instance, revision=None, **kwargs):
    """Every publication of a guide or slideshow sets its review record from the approval of that revision.
    A publication without one is logged in the page's history, so a bypass is never silent."""
    if not isinstance(instance, MedicalReviewMixin):
        return
    review = record_publication(instance, revision)
    if review is None:
        log(instance=instance, action=UNREVIEWED_ACTION, revision=revision)
