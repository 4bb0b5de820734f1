"""``python -m registry.fragility PATH``: the analysis without Django."""

import sys

from registry.fragility.cli import main

sys.exit(main())
