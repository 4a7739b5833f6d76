"""The web platform: FastAPI app factory, JSON API under ``/api/v1``, and ``mujun serve``."""

from mujun.web.app import create_app
from mujun.web.cli import serve_command
from mujun.web.settings import WebSettings

__all__ = ["WebSettings", "create_app", "serve_command"]
