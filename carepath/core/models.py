import pickle

from django.contrib.contenttypes.models import ContentType
from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page, Site
from wagtail.search import index

from carepath.core.copies import shared, shared_entries, shared_entry
from carepath.core.pagecache import PublicPageMixin


class HomePage(PublicPageMixin, Page):
    intro = models.TextField(blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    max_count = 1

    def route(self, request, path_components):
        """The page at exactly this path without a query, instead of one query (and one more for the specific page)
        per level: which page and page type a path leads to, and the page as it is, are kept per process for the
        content generation (core/copies.py; every publish, unpublish or move bumps it). Anything else (a routable
        page's sub-path, a miss) takes Wagtail's walk. No page type between the home page and its descendants
        routes by itself, so the answer is the walk's."""
        if path_components:
            url_path = self.url_path + "/".join(path_components) + "/"
            found = shared_entries("routes", [url_path], lambda missing: self._find_routes(path_components, missing))
            if url_path in found:
                page_id, content_type_id = found[url_path]
                model = ContentType.objects.get_for_id(content_type_id).model_class() or Page
                page = _page_copy(model, page_id)
                if page is not None:
                    # Where Wagtail keeps a page's site root paths for its URL (else one cache read per request)
                    page._wagtail_cached_site_root_paths = shared("site_root_paths", _site_root_paths)
                    return page.route(request, [])
        return super().route(request, path_components)

    def _find_routes(self, path_components, missing):
        # slug and depth let the database use the slug index (url_path has none); url_path alone decides. Only paths
        # that lead somewhere are kept (any number of made-up paths could be asked for).
        (url_path,) = missing
        found = (
            Page.objects.filter(slug=path_components[-1], depth=self.depth + len(path_components), url_path=url_path)
            .values_list("pk", "content_type_id")
            .first()
        )
        return {url_path: found} if found else {}

    def get_context(self, request, *args, **kwargs):
        from carepath.conditions.models import ConditionPage, SlideshowPage

        context = super().get_context(request, *args, **kwargs)
        context["guides"] = ConditionPage.objects.live().public().order_by("title")
        context["slideshows"] = SlideshowPage.objects.live().public().order_by("title")
        return context


def _page_copy(model, page_id):
    """A fresh, unshared copy of the specific page as it is in this content generation (read and pickled once per
    process and generation), or None when it is gone."""

    def read():
        page = model.objects.filter(pk=page_id).first()
        return None if page is None else pickle.dumps(page)

    raw = shared_entry("pages", page_id, read)
    return None if raw is None else pickle.loads(raw)


class StandardPage(PublicPageMixin, Page):
    """A plain page: terms of use, privacy, about."""

    body = RichTextField(features=["h2", "h3", "bold", "italic", "ol", "ul", "link"])
    content_panels = Page.content_panels + [FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("body")]
    subpage_types = []


def _site_root_paths():
    return tuple(Site.get_site_root_paths())
