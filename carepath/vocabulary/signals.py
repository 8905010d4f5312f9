"""Keep the vocabulary in step with the content: a page's concept is rewritten when it is published,
unpublished or moved, and when a glossary term naming it changes. Deleting a page deletes its concept."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from carepath.conditions.models import ConditionPage, GlossaryTerm
from carepath.vocabulary.build import update_concept
from carepath.vocabulary.models import Concept, VocabularyVersion


@receiver(page_published)
@receiver(page_unpublished)
@receiver(page_slug_changed)
def page_changed(sender, instance, **kwargs):
    update_concept(instance)


@receiver(post_page_move)
def page_moved(sender, instance, **kwargs):
    update_concept(instance)


@receiver(post_delete, sender=Concept)
def concept_deleted(sender, instance, **kwargs):
    VocabularyVersion.bump()


@receiver(pre_save, sender=GlossaryTerm)
def remember_old_guide(sender, instance, **kwargs):
    instance._previous_guide_id = (
        GlossaryTerm.objects.filter(pk=instance.pk).values_list("guide_id", flat=True).first() if instance.pk else None
    )


@receiver(post_save, sender=GlossaryTerm)
@receiver(post_delete, sender=GlossaryTerm)
def glossary_changed(sender, instance, **kwargs):
    guide_ids = {instance.guide_id, getattr(instance, "_previous_guide_id", None)} - {None}
    for guide in ConditionPage.objects.filter(pk__in=guide_ids):
        update_concept(guide)
