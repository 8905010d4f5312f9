"""The page tree every CarePath site has: home, /conditions/, /slideshows/, /terms/."""

from django.db import transaction
from wagtail.models import Page, Site

from carepath.conditions.models import ConditionIndexPage, SlideshowIndexPage
from carepath.core.models import HomePage, StandardPage
from carepath.editorial.workflow import ensure_review_workflow

TERMS_BODY = """<p>CarePath gives general health information in plain language. It is not medical advice,
and it does not replace a visit to a doctor, nurse or other health professional. Always ask a health professional
about your own
health. In an emergency, call 911.</p>
<h2>Using this site</h2>
<p>You may read, print and share the pages here for personal, non-commercial use. Do not use this site to send
unwanted email. We may limit how often a page can be shared.</p>
<h2>Links to other sites</h2>
<p>Our pages cite public sources such as MedlinePlus, the National Institutes of Health, the CDC and the NHS.
We are not responsible for the content of other sites.</p>
<h2>Privacy</h2>
<p>When you share a page by email we use the address only to send that one email, and we do not keep it.</p>"""


@transaction.atomic
def ensure_site_structure():
    """Create what is missing, change nothing that exists. Returns the home page."""
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        # Wagtail's first migration leaves a placeholder "Welcome" page; a CarePath home page takes its place.
        for placeholder in root.get_children().filter(content_type__model="page", slug="home"):
            placeholder.delete()
        home = root.add_child(
            instance=HomePage(
                title="Health information you can trust",
                slug="home",
                intro="Plain-language guides to health conditions, written for patients and families, "
                "and help finding care near you.",
            )
        )
        site = Site.objects.filter(is_default_site=True).first()
        if site:
            site.root_page = home
            site.save()
        else:
            Site.objects.create(
                hostname="localhost", port=80, root_page=home, is_default_site=True, site_name="CarePath"
            )
    children = {child.slug for child in home.get_children()}
    if "conditions" not in children:
        home.add_child(
            instance=ConditionIndexPage(
                title="Conditions A-Z",
                slug="conditions",
                intro="Guides to health conditions, in plain language, with the signs that need care now.",
            )
        )
    if "slideshows" not in children:
        home.add_child(instance=SlideshowIndexPage(title="Slideshows", slug="slideshows"))
    if "terms" not in children:
        home.add_child(instance=StandardPage(title="Terms of use", slug="terms", body=TERMS_BODY))
    ensure_review_workflow()
    return home
