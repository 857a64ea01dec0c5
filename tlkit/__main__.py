"""``python -m tlkit``: the instructor command line (see ``docs/instructor.md``)."""

import sys

from tlkit.instructor.cli import main

if __name__ == "__main__":
    sys.exit(main())
