"""A GCS emulator on loopback for the object-storage tests: fake-gcs-server (built by
`make fake-gcs`) and a metadata endpoint that hands out a dummy token.

Beam's GCS client asks google.auth for credentials before its first request and, finding
none, retries for about 22 s per process (launcher and every worker) before it goes
anonymous. The metadata endpoint answers as a Compute Engine VM's would, so credentials come
at once and Beam takes its credentialed path, as on Dataflow; fake-gcs-server ignores the
token. Both listen on 127.0.0.1 only, and google.auth is pointed at them by the
GCE_METADATA_* variables, so nothing looks for a real metadata server.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from beam_pipelines.local_processes import REPO, free_port

FAKE_GCS_VERSION = "1.56.1"
BINARY = os.path.join(REPO, ".cache", "fake-gcs-server", f"fake-gcs-server-{FAKE_GCS_VERSION}")
PROJECT = "twostream-test"


class _Metadata(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path.endswith("/token"):
            body = json.dumps({"access_token": "emulator", "expires_in": 3600, "token_type": "Bearer"})
        elif "/service-accounts/" in path:
            body = json.dumps({"email": f"test@{PROJECT}.iam.gserviceaccount.com", "aliases": ["default"],
                               "scopes": ["https://www.googleapis.com/auth/cloud-platform"]})
        elif path.endswith("/project/project-id"):
            body = PROJECT
        elif path.endswith("/universe/universe-domain"):
            body = "googleapis.com"
        else:
            body = ""
        data = body.encode()
        self.send_response(200)
        self.send_header("Metadata-Flavor", "Google")
        self.send_header("Content-Type", "application/json" if body.startswith("{") else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class GcsEmulator:
    """fake-gcs-server in memory plus the metadata endpoint; `env` is what clients need."""

    def __init__(self, log_dir: str):
        if not os.path.exists(BINARY):
            raise FileNotFoundError(BINARY)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = open(os.path.join(log_dir, "fake-gcs-server.log"), "w")
        self._server = subprocess.Popen(
            [BINARY, "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port), "-backend", "memory",
             "-public-host", f"127.0.0.1:{self.port}", "-log-level", "warn"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self._metadata = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
        threading.Thread(target=self._metadata.serve_forever, daemon=True).start()
        metadata = f"127.0.0.1:{self._metadata.server_address[1]}"
        self.env = {"STORAGE_EMULATOR_HOST": self.endpoint, "GCE_METADATA_HOST": metadata,
                    "GCE_METADATA_IP": metadata, "GOOGLE_CLOUD_PROJECT": PROJECT}
        self._wait()

    def _wait(self, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited with {self._server.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/storage/v1/b", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"fake-gcs-server did not answer on {self.endpoint} within {seconds:g} s")

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=PROJECT, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoint})

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(name)
        return f"gs://{name}"

    def upload_tree(self, local: str, url: str) -> None:
        bucket, _, prefix = url[len("gs://"):].partition("/")
        target = self.client().bucket(bucket)
        for root, _, names in os.walk(local):
            for name in names:
                path = os.path.join(root, name)
                key = "/".join(p for p in (prefix, os.path.relpath(path, local).replace(os.sep, "/")) if p)
                target.blob(key).upload_from_filename(path)

    def download_tree(self, url: str) -> dict[str, bytes]:
        """Every object under `url`, by its name relative to it."""
        bucket, _, prefix = url[len("gs://"):].partition("/")
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        return {blob.name[len(prefix):]: blob.download_as_bytes()
                for blob in self.client().list_blobs(bucket, prefix=prefix)}

    def stop(self) -> None:
        self._metadata.shutdown()
        self._server.terminate()
        try:
            self._server.wait(10)
        except subprocess.TimeoutExpired:
            self._server.kill()
        self._log.close()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A running GcsEmulator, its variables set in os.environ so that the jobs' worker processes
    (local runner, Dask) inherit them; CI builds the binary first, so there it must be present."""
    if not os.path.exists(BINARY):
        if os.environ.get("CI"):
            pytest.fail(f"{BINARY} is missing: .ci/run builds it with `make fake-gcs`")
        pytest.skip(f"{BINARY} is missing: build it with `make fake-gcs`")
    started = GcsEmulator(str(tmp_path_factory.mktemp("gcs")))
    saved = {key: os.environ.get(key) for key in started.env}
    os.environ.update(started.env)
    yield started
    started.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
