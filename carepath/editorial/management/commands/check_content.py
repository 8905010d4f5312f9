from django.core.management.base import BaseCommand

from carepath.editorial.checks import ERROR, check_library


class Command(BaseCommand):
    help = (
        "Check every guide, slideshow and glossary term: codes, references, links, images, reading grade, "
        "emergency callouts, glossary definitions. Exit status 1 on any error (warnings do not fail)."
    )

    def handle(self, **options):
        findings = check_library()
        for finding in findings:
            self.stdout.write(str(finding))
        errors = sum(f.level == ERROR for f in findings)
        self.stdout.write(f"{errors} errors, {len(findings) - errors} warnings")
        if errors:
            raise SystemExit(1)
