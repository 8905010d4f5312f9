"""Reading grade of published pages, measured the same way as the demo library check (textstat, Flesch-Kincaid)."""

from carepath.conditions.demo.library import plain_text, reading_grade


def page_prose(page):
    """The prose a reader reads on a guide or slideshow: summary, headings and text blocks."""
    parts = [page.summary]
    blocks = page.body if hasattr(page, "body") else page.slides
    for block in blocks:
        value = block.value
        if block.block_type in ("section", "care_callout", "slide"):
            if value.get("heading"):
                parts.append(value["heading"].rstrip(".:?") + ".")
            parts.append(plain_text(value["text"].source))
    return " ".join(p for p in parts if p)


def page_grade(page):
    return reading_grade(page_prose(page))
