import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

django_application = get_wsgi_application()

# Cached public documents are answered before Django builds a request (issue 15).
from pledges.public_fast import PublicDocumentFront  # noqa: E402

application = PublicDocumentFront(django_application)
