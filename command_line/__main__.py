import os
import sys

from command_line.main import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
