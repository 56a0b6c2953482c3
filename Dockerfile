# EdgePlug web / worker / beat image (the full stack in docker-compose.yml uses it).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 EDGEPLUG_VAR_DIR=/var/lib/edgeplug
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpq5 qemu-system-arm gcc-arm-none-eabi bubblewrap build-essential \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-zenhei \
      fonts-tlwg-loma-ttf fonts-lohit-deva \
      fonts-lohit-beng-bengali fonts-lohit-taml fonts-lohit-telu fonts-lohit-knda \
      fonts-lohit-mlym fonts-lohit-gujr fonts-lohit-guru fonts-lohit-orya \
      fonts-sil-padauk fonts-sil-abyssinica fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && useradd --system --home /var/lib/edgeplug edgeplug \
 && mkdir -p /var/lib/edgeplug && chown edgeplug /var/lib/edgeplug
USER edgeplug
EXPOSE 8000
CMD ["gunicorn", "edgeplug.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
