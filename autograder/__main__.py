import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from autograder.grader.nbgrader_cli import skip_slow_imports  # noqa: E402

skip_slow_imports()
from autograder.cli import main  # noqa: E402

sys.exit(main())
