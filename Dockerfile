# One image for every service: web (gunicorn), workers, the migrate job and flower.
#
#   docker-compose build                 # CPU torch (the default)
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 -t occlab:gpu .
#
# TORCH_INDEX is the PyTorch wheel index torch is taken from: .../whl/cpu keeps the image
# small; a CUDA one (cu126, cu128, ... to match the host's driver) is what `worker-gpu` needs.
# docker-compose builds that variant itself from TORCH_GPU_INDEX (see docker-compose.yml).
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OCCLAB_INSTANCE=/app/instance

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall torch.
COPY pyproject.toml ./
RUN mkdir -p shared web worker && touch shared/__init__.py web/__init__.py worker/__init__.py \
    && pip install --extra-index-url "$TORCH_INDEX" . flower \
    && pip uninstall -y occlusion-lab

COPY . .
# Editable: alembic.ini, migrations/ and models/ stay where shared.config.ROOT expects them.
RUN pip install --no-deps -e . \
    && useradd --system --home-dir /app occlab \
    && mkdir -p instance && chown occlab instance

USER occlab
EXPOSE 5000
CMD ["occlab", "web", "--host", "0.0.0.0", "--port", "5000"]
