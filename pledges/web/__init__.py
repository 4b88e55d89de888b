"""The public pledge form: server-rendered HTML in six languages, posting
through the same validation and service as `POST /api/v1/pledges/`."""
