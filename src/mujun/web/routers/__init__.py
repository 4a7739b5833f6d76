"""One router per resource, mounted under ``/api/v1`` by :func:`mujun.web.app.create_app`."""
