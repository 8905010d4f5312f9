from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class DirectoryConfig(AppConfig):
    name = "carepath.directory"
    label = "directory"
    verbose_name = "Find a doctor"

    def ready(self):
        from carepath.directory.models import Taxonomy
        from carepath.directory.search import forget_taxonomies

        # The search holds the taxonomy codes per process; a change here is seen at once (import_nucc saves each).
        post_save.connect(forget_taxonomies, sender=Taxonomy, dispatch_uid="search-taxonomies-save")
        post_delete.connect(forget_taxonomies, sender=Taxonomy, dispatch_uid="search-taxonomies-delete")
