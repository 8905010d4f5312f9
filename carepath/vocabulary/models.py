"""The vocabulary as stored: one concept per live guide or slideshow, and a version token that changes with it."""

import uuid

from django.db import models


class Concept(models.Model):
    """What one page is about, in every name a reader might use for it.

    `terms` holds [text, kind] pairs (kinds in `KIND_WEIGHTS`); `codes` the ICD-10-CM codes the page holds,
    without their dot. Rows are written when a page is published (see signals.py) or by `build_vocabulary`;
    each serving process reads them all once per version into an in-memory index (see index.py)."""

    GUIDE, SLIDESHOW = "guide", "slideshow"
    KIND_WEIGHTS = {
        "title": 1.0,
        "name": 0.98,  # also-called names and the parts of a title in parentheses, abbreviations included
        "glossary": 0.9,
        "hpo_lay": 0.85,
        "hpo": 0.8,
        "icd": 0.75,
        "acronym": 0.7,  # initials of a name of three or more words, derived: "DJD", "CTS"
    }

    page = models.OneToOneField("wagtailcore.Page", on_delete=models.CASCADE, related_name="vocabulary_concept")
    page_type = models.CharField(max_length=20, choices=[(GUIDE, "guide"), (SLIDESHOW, "slideshow")])
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=500)
    terms = models.JSONField(default=list)
    codes = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["page_id"]

    def __str__(self):
        return self.title


class VocabularyVersion(models.Model):
    """One row: a token that changes whenever any concept does, so each process knows when to reload.

    A random token rather than a counter: a rolled-back change must not leave a process believing it holds a
    version that a later, different change reuses."""

    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self):
        return str(self.token)

    @classmethod
    def bump(cls):
        token = uuid.uuid4()
        if not cls.objects.filter(pk=1).update(token=token):
            cls.objects.update_or_create(pk=1, defaults={"token": token})
        return token

    @classmethod
    def current(cls):
        return cls.objects.filter(pk=1).values_list("token", flat=True).first()
