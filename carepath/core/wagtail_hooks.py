from wagtail import hooks
from wagtail.models import Page
from wagtail.rich_text.pages import PageLinkHandler

from carepath.core.copies import shared_entries


class PlainPageLinkHandler(PageLinkHandler):
    """Internal links in rich text, from the page URLs kept per process (core/copies.py): no query once a linked
    page's URL is known, one per text for those that are not. A link needs only the page's URL, which comes from its
    url_path and site, so the specific page is never loaded (no CarePath page type overrides get_url_parts)."""

    @classmethod
    def get_many(cls, attrs_list):
        ids = [attrs.get("id") for attrs in attrs_list]
        pages = {str(page.pk): page for page in Page.objects.filter(id__in=ids).defer_streamfields()}
        return [pages.get(str(pk)) for pk in ids]

    @classmethod
    def expand_db_attributes_many(cls, attrs_list):
        ids = [attrs.get("id") for attrs in attrs_list]  # strings, as the rich text holds them
        tags = shared_entries("page_link_tags", dict.fromkeys(ids), cls._tags)
        return [tags[pk] for pk in ids]

    @classmethod
    def _tags(cls, ids):
        # Wagtail's own: a page that is gone leaves a bare <a>
        tags = super().expand_db_attributes_many([{"id": pk} for pk in ids])
        return dict(zip(ids, tags, strict=True))


@hooks.register("register_rich_text_features", order=100)  # after Wagtail's own "page" link type
def register_plain_page_links(features):
    features.register_link_type(PlainPageLinkHandler)
