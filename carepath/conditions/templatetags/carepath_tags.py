import functools
import itertools
import json
import re

from django import template
from django.template.defaultfilters import date
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from wagtail.rich_text import RichText, expand_db_html

from carepath.conditions.models import glossary
from carepath.core import copies

register = template.Library()
TAG_SPLIT_RE = re.compile(r"(<[^>]+>)")


def _glossary(context):
    """The glossary (kept per process, conditions.models.glossary) and the terms this page already explains in a
    key-term box: they start out as used, so they are not defined twice. Shared by every section of the page."""
    cache = context.render_context
    if "carepath_glossary" not in cache:
        page = context.get("page")
        boxed = {
            block.value["term"].term.lower()
            for block in getattr(page, "body", [])
            if block.block_type == "glossary_term" and block.value["term"]
        }
        cache["carepath_glossary"] = (glossary(), boxed)
    return cache["carepath_glossary"]


def _definition_html(entry, number, current_page):
    more = ""
    if entry.guide_id and entry.guide_live and entry.guide_id != getattr(current_page, "pk", None):
        more = format_html(' <a href="{}">Read the guide on {}</a>', entry.guide_url, entry.term)
    return format_html(
        '<span class="gloss-def" id="gloss-{n}">{definition}{more}</span>',
        n=number,
        definition=entry.definition,
        more=mark_safe(more),
    )


@register.filter(expects_localtime=True)
def date_text(value, arg):
    """Django's |date, remembered per value, format, language and time zone (equal instants in two zones are equal
    keys): formatting looks the month's name up in the translations each time, a tenth of a millisecond for each of
    a guide's dozen dates."""
    return _date_text(value, arg, get_language(), timezone.get_current_timezone_name())


@functools.lru_cache(maxsize=4096)
def _date_text(value, arg, language, zone):
    return date(value, arg)


@register.filter
def rich_text(value):
    """Rich text as HTML, as Wagtail's |richtext gives it: links expanded, without rendering the one-line template
    Wagtail wraps it in ("{{ html|safe }}", wagtailcore/shared/richtext.html, which CarePath does not override)."""
    if isinstance(value, RichText):
        return mark_safe(expand_db_html(value.source))
    return mark_safe(expand_db_html(str(value))) if value is not None else ""


@register.simple_tag(takes_context=True)
def glossarize(context, html):
    """Mark the first use on the page of each glossary term with an inline, keyboard-reachable definition.

    Terms inside links are left alone, and so is the term that names the page itself. What a section gives is the
    same for the same text, page, terms already used above it and first definition number, until the content
    changes: it is kept per process for the content generation (carepath.core.copies), as the glossary itself is."""
    terms, used = _glossary(context)
    if terms.pattern is None:
        return rich_text(html) if isinstance(html, RichText) else mark_safe(str(html))
    state = context.render_context.setdefault("carepath_glossary_next", [1])  # the next definition's number
    page = context.get("page")
    source = html.source if isinstance(html, RichText) else str(html)
    key = (getattr(page, "pk", None), isinstance(html, RichText), source, frozenset(used), state[0])
    marked, newly_used = copies.shared_entry(
        "glossarized", key, lambda: _mark_terms(terms, html, set(used), state[0], page)
    )
    used.update(newly_used)
    state[0] += len(newly_used)
    return mark_safe(marked)


def _mark_terms(terms, html, used, first_number, page):
    """(the section's HTML with its terms marked, the terms it marked), numbering definitions from first_number."""
    by_term, pattern = terms.by_term, terms.pattern
    counter = itertools.count(first_number)
    html = rich_text(html) if isinstance(html, RichText) else str(html)
    newly_used = []
    out, inside_link = [], False
    for part in TAG_SPLIT_RE.split(html):
        if part.startswith("<"):
            lowered = part.lower()
            if lowered.startswith("<a ") or lowered == "<a>":
                inside_link = True
            elif lowered.startswith("</a"):
                inside_link = False
            out.append(part)
            continue
        if inside_link:
            out.append(part)
            continue

        def mark(match):
            term = by_term.get(match.group(1).lower())
            key = term.term.lower()
            if key in used or (term.guide_id and term.guide_id == getattr(page, "pk", None)):
                return match.group(0)
            used.add(key)
            newly_used.append(key)
            number = next(counter)
            return format_html(
                '<span class="gloss"><button type="button" class="gloss-term" aria-expanded="false" '
                'aria-controls="gloss-{n}">{word}</button>{definition}</span>',
                n=number,
                word=mark_safe(match.group(0)),
                definition=_definition_html(term, number, page),
            )

        out.append(pattern.sub(mark, part))
    return "".join(out), tuple(newly_used)


@register.simple_tag
def json_ld(data):
    """schema.org JSON-LD, safe inside <script>."""
    text = json.dumps(data, ensure_ascii=False, indent=None)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(f'<script type="application/ld+json">{text}</script>')


@register.simple_tag(takes_context=True)
def absolute_url(context, url):
    request = context.get("request")
    return request.build_absolute_uri(url) if request else url
