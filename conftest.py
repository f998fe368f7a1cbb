"""Test-wide settings: notebooks run in quick mode (a short LeNet run) under nbval."""

import os

# The kernels nbval starts inherit this environment.
os.environ.setdefault("CNNBOOK_QUICK", "1")
