"""Rum forms: bounded ``multipart/form-data`` parsing off the event loop, and file uploads.

Enable ``forms`` in ``[plugins] enabled``; then ``form = await request.form()`` parses
multipart bodies too, and ``form.files["photo"]`` is an :class:`UploadedFile`. Limits live in
``[forms]``. See ``docs/uploads.md``.
"""

from rum_forms.forms import Forms, storage
from rum_forms.parser import MultipartReader, parse_multipart
from rum_forms.settings import FormLimits
from rum_forms.storage import LocalStorage, Storage
from rum_forms.uploads import UploadedFile, safe_filename

__all__ = ["FormLimits", "Forms", "LocalStorage", "MultipartReader", "Storage",
           "UploadedFile", "parse_multipart", "safe_filename", "storage"]
