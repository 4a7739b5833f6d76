"""``python -m mujun``."""

from mujun.cli import main

main()
