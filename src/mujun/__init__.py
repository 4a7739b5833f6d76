"""Mujun (亩均): the open platform for per-mu enterprise evaluation."""

__version__ = "0.1.0"
