"""An embedded TF-Serving-compatible model server (gRPC + REST) for where the real one can't run.

Takes tensorflow_model_server's flag names, serves the same SavedModel layout
and speaks the same protos, so clients and exports work unchanged against
either. Binds 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from concurrent import futures
from dataclasses import dataclass

import grpc

from tfx_models import cli  # first: TensorFlow then starts quietly (--verbose keeps its notices)
from serving.batching import Batcher, BatchingParameters
from serving.decoding import DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_ROWS, RequestLimits
from serving.grpc_service import add_services
from media.storage import TENSORFLOW, read_text
from serving.model_store import ModelStore, read_model_config
from serving.predictor import Predictor, RequestLimiter
from serving.rest import make_rest_server

LOG = logging.getLogger(__name__)
DEFAULT_MAX_REQUEST_BYTES = 256 << 20


@dataclass
class ServerOptions:
    models: dict[str, str]               # name -> base path
    grpc_port: int = 8500                # 0 = any free port
    rest_port: int | None = 8501         # None = no REST; 0 = any free port
    host: str = "127.0.0.1"
    rest_host: str | None = None         # defaults to host
    batching: BatchingParameters | None = None
    poll_seconds: float = 1.0
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    max_request_rows: int = DEFAULT_MAX_ROWS
    max_concurrent_requests: int = 16
    max_queued_requests: int = 64
    rest_socket_timeout: float = 30.0    # seconds any REST read or write may wait

    @property
    def max_connections(self) -> int:
        """RPCs (gRPC) or connections (REST) served at once: every admitted request, plus a few so
        status and metadata calls still get through a full predict queue."""
        return self.max_concurrent_requests + self.max_queued_requests + 4


class EmbeddedServer:
    """Loads the models, then serves gRPC and REST until stop()."""

    def __init__(self, options: ServerOptions):
        self.options = options
        self.store = ModelStore(options.models, options.poll_seconds)
        self.batcher = Batcher(options.batching) if options.batching else None
        self.limiter = RequestLimiter(options.max_concurrent_requests, options.max_queued_requests)
        self.predictor = Predictor(self.store, self.limiter, self.batcher,
                                   RequestLimits(options.max_decoded_bytes, options.max_request_rows))
        self.grpc_port: int | None = None
        self.rest_port: int | None = None
        self._grpc = None
        self._rest = None
        self._rest_thread = None

    def start(self) -> "EmbeddedServer":
        o = self.options
        self.store.refresh()
        for name, base in o.models.items():
            try:
                self.store.get(name)
            except Exception:
                LOG.warning("model %s: no loadable version under %s yet; polling", name, base)
        self.store.start_polling()
        message_options = [("grpc.max_receive_message_length", o.max_request_bytes),
                           ("grpc.max_send_message_length", o.max_request_bytes)]
        # Beyond maximum_concurrent_rpcs gRPC itself answers RESOURCE_EXHAUSTED, before any handler runs.
        self._grpc = grpc.server(futures.ThreadPoolExecutor(o.max_connections, thread_name_prefix="grpc"),
                                 options=message_options, maximum_concurrent_rpcs=o.max_connections)
        add_services(self._grpc, self.predictor)
        self.grpc_port = self._grpc.add_insecure_port(f"{o.host}:{o.grpc_port}")
        if self.grpc_port == 0:
            raise OSError(f"cannot bind gRPC to {o.host}:{o.grpc_port}")
        self._grpc.start()
        if o.rest_port is not None:
            self._rest = make_rest_server(self.predictor, o.rest_host or o.host, o.rest_port, o.max_request_bytes,
                                          max_connections=o.max_connections, socket_timeout=o.rest_socket_timeout)
            self.rest_port = self._rest.server_address[1]
            self._rest_thread = threading.Thread(target=self._rest.serve_forever, name="rest", daemon=True)
            self._rest_thread.start()
        return self

    def stop(self) -> None:
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace=2).wait()
        self.store.stop()
        if self.batcher is not None:
            self.batcher.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m serving.server",
        description="Embedded TF-Serving-compatible server: gRPC PredictionService/ModelService and the "
                    "REST API over SavedModels in <base>/<name>/<version> (tensorflow_model_server's flags).")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port (0: any free port)")
    parser.add_argument("--rest_api_port", type=int, default=8501, help="REST port (0: no REST API)")
    parser.add_argument("--host", default="127.0.0.1", help="address gRPC binds (0.0.0.0 to expose)")
    parser.add_argument("--rest_api_host", default=None, help="address REST binds (default: --host)")
    parser.add_argument("--model_name", default=None, help="name of the single model to serve")
    parser.add_argument("--model_base_path", default=None, help="folder holding the model's integer versions")
    parser.add_argument("--model_config_file", default=None, help="model_config_list text proto (models.config)")
    parser.add_argument("--enable_batching", action="store_true", help="merge concurrent requests")
    parser.add_argument("--batching_parameters_file", default=None,
                        help="batching_parameters.txt (max_batch_size, batch_timeout_micros, ...)")
    parser.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0,
                        help="how often to look for new versions (0: never)")
    parser.add_argument("--max_request_bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES,
                        help="largest request accepted on the wire (gRPC message, REST body); larger ones get "
                             "RESOURCE_EXHAUSTED / HTTP 429, a REST body unread")
    parser.add_argument("--max_decoded_bytes", type=int, default=DEFAULT_MAX_DECODED_BYTES,
                        help="largest size a request's tensors may decode to, computed from shape x dtype "
                             "before decoding; beyond it RESOURCE_EXHAUSTED / HTTP 429")
    parser.add_argument("--max_request_rows", type=int, default=DEFAULT_MAX_ROWS,
                        help="most rows (dim 0) a request tensor may have; beyond it RESOURCE_EXHAUSTED / HTTP 429")
    parser.add_argument("--rest_socket_timeout", type=float, default=30.0,
                        help="seconds a REST connection may stall mid-request or sit idle before it is closed")
    parser.add_argument("--max_concurrent_requests", type=int, default=16, help="requests run at once")
    parser.add_argument("--max_queued_requests", type=int, default=64,
                        help="requests that may wait; beyond that RESOURCE_EXHAUSTED / HTTP 429")
    args = cli.add_flags(parser).parse_args(argv)
    if bool(args.model_config_file) == bool(args.model_base_path):
        parser.error("give either --model_config_file or --model_base_path (with --model_name)")
    if args.model_base_path and not args.model_name:
        parser.error("--model_base_path needs --model_name")
    if args.batching_parameters_file and not args.enable_batching:
        parser.error("--batching_parameters_file needs --enable_batching")
    return args


def options_from_args(args) -> ServerOptions:
    if args.model_config_file:
        models = read_model_config(args.model_config_file)
    else:
        models = {args.model_name: args.model_base_path}
    batching = None
    if args.enable_batching:
        batching = BatchingParameters()
        if args.batching_parameters_file:
            batching = BatchingParameters.parse(read_text(TENSORFLOW, args.batching_parameters_file), args.batching_parameters_file)
    return ServerOptions(
        models=models, grpc_port=args.port, rest_port=args.rest_api_port or None, host=args.host,
        rest_host=args.rest_api_host, batching=batching, poll_seconds=args.file_system_poll_wait_seconds,
        max_request_bytes=args.max_request_bytes, max_decoded_bytes=args.max_decoded_bytes,
        max_request_rows=args.max_request_rows, max_concurrent_requests=args.max_concurrent_requests,
        max_queued_requests=args.max_queued_requests, rest_socket_timeout=args.rest_socket_timeout)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        options = options_from_args(args)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    server = EmbeddedServer(options).start()
    rest = f", REST on {options.rest_host or options.host}:{server.rest_port}" if server.rest_port else ""
    print(f"serving {sorted(options.models)}: gRPC on {options.host}:{server.grpc_port}{rest}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
