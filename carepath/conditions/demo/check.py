"""python -m carepath.conditions.demo.check: validate the demo library files and print reading grades."""

import sys

from carepath.conditions.demo.library import load_library


def main():
    lib = load_library()
    for slug, doc in {**lib.guides, **lib.slideshows}.items():
        print(f"{doc['grade']:5.1f}  {slug}")
    for problem in lib.problems:
        print(f"ERROR {problem}")
    print(
        f"{len(lib.guides)} guides, {len(lib.slideshows)} slideshows, {len(lib.glossary)} glossary terms, "
        f"{len(lib.problems)} problems"
    )
    return 1 if lib.problems else 0


if __name__ == "__main__":
    sys.exit(main())
