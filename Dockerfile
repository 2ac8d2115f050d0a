# The Dataflow worker container (docs/runners.md, scripts/dataflow.sh --image): Beam's Python 3.11
# SDK image at the Beam version requirements.txt pins, with the project's dependencies installed
# (TensorFlow, OpenCV, PyAV: too heavy to install on every worker at start). The project's own
# code is staged with each job as an sdist (--setup_file), so it changes without a new image.
#
#   docker build --build-arg BEAM_VERSION=2.77.0 -t REGION-docker.pkg.dev/PROJECT/twostream/worker:2.77.0 .
#
# Untested here: this machine has no container engine and no registry.
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
