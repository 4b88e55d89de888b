# The pledge tracker's image: the Django app (gunicorn), its Celery worker and
# beat all run from it; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media

WORKDIR /app

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --no-create-home app

# Reports: Noto fonts for the six UN languages (Arabic, Chinese included) and
# HarfBuzz's subsetter, which WeasyPrint needs to embed fonts quickly.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-core fonts-noto-cjk libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image at build time, with DJANGO_DEBUG
# off as in production (the manifest of hashed names). The values production
# must name are build-only placeholders here that only let the settings load
# (collectstatic touches no database, no bank, no Stripe); they are not kept
# in the image, whose containers get the real ones from the environment.
RUN export DJANGO_SECRET_KEY=build-only CARD_PAYMENTS=false \
        FUND_BANK_BENEFICIARY=build-only FUND_BANK_NAME=build-only FUND_BANK_ADDRESS=build-only \
        FUND_BANK_ACCOUNT_NUMBER=build-only FUND_BANK_SWIFT=build-only \
    && python manage.py collectstatic --noinput \
    && python manage.py compile_translations \
    && mkdir -p /app/media \
    && chown app:app /app/media

USER app
EXPOSE 8000

CMD ["sh", "-c", "exec gunicorn backend.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3}"]
