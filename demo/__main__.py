"""`python -m demo`: see `demo.load.main`."""
import sys

from demo.load import main

sys.exit(main())
