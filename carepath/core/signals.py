"""What invalidates the page cache. Any saved or deleted page (a publish, an unpublish, a move, a draft that
touches the live row), image, medical reviewer, glossary term, specialty name, view restriction or site bumps the
"content" generation: every guide, slideshow and index is re-rendered, so pages that list or link the changed one are
never stale, and every process's copies of content data (core/copies.py) are rebuilt. A provider, a location, a
specialty or a patient review (confirmed, moderated, edited) bumps the "directory" generation; a review just written
(unconfirmed) or deleted before anyone published it does not, since no page shows it: readers writing reviews would
otherwise retire every cached profile several times a second. Bulk writes that send no signals (the NPPES importer)
call `invalidate("directory")` themselves."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from wagtail.images.models import AbstractImage
from wagtail.models import Page, PageViewRestriction, Site
from wagtail.signals import page_published, page_unpublished, post_page_move

from carepath.core import copies
from carepath.core.pagecache import invalidate


def _scope(instance, created, signal):
    from carepath.conditions.models import GlossaryTerm
    from carepath.directory.models import PracticeLocation, Provider, ProviderReview, ProviderSpecialty, Taxonomy
    from carepath.editorial.models import MedicalReviewer

    content = Page | Site | PageViewRestriction | AbstractImage | MedicalReviewer | GlossaryTerm | Taxonomy
    if isinstance(instance, content):
        return "content"
    if isinstance(instance, ProviderReview):
        unseen = instance.status in (ProviderReview.UNCONFIRMED, ProviderReview.PENDING)
        return None if unseen and (created or signal is post_delete) else "directory"
    if isinstance(instance, Provider | PracticeLocation | ProviderSpecialty):
        return "directory"
    return None


def _changed(sender, instance=None, created=False, signal=None, **kwargs):
    scope = "content" if instance is None else _scope(instance, created, signal)
    if scope == "content":
        copies.forget()  # this process's own later reads in the same transaction see the change
    if scope:
        # After the commit: a page rendered from the old rows meanwhile must not be stored under the new generation.
        transaction.on_commit(lambda: invalidate(scope))


def connect():
    for signal in (page_published, page_unpublished, post_page_move, post_save, post_delete, m2m_changed):
        signal.connect(_changed, dispatch_uid=f"pagecache-{signal!r}")
