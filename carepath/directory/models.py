from django.db import models


class TaxonomyQuerySet(models.QuerySet):
    def codes(self):
        return set(self.values_list("code", flat=True))


class Taxonomy(models.Model):
    """A NUCC Health Care Provider Taxonomy code: Grouping > Classification > Specialization."""

    code = models.CharField(max_length=10, primary_key=True)
    grouping = models.CharField(max_length=200)
    classification = models.CharField(max_length=200)
    specialization = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=300, blank=True)

    objects = TaxonomyQuerySet.as_manager()

    class Meta:
        ordering = ["classification", "specialization"]
        verbose_name_plural = "taxonomy codes"

    def __str__(self):
        return self.label

    @property
    def label(self):
        """Reader-facing name: NUCC's display name, else 'Classification: Specialization'."""
        if self.display_name:
            return self.display_name
        return f"{self.classification}: {self.specialization}" if self.specialization else self.classification

    @property
    def short_name(self):
        """The specialty as a reader says it ("Rheumatology", "Orthopaedic Surgery")."""
        return self.specialization or self.classification
