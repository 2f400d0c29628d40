"""`python -m ecotui` runs the command line."""
import sys

from ecotui.cli import main

sys.exit(main())
