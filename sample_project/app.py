"""The app ``rum run`` serves (``[general] app = "app:app"``): the order tracker.

``app`` is the factory; ``rum`` calls it. See ``tracker/__init__.py`` and
docs/sample_project.md.
"""

from tracker import create_app

app = create_app
