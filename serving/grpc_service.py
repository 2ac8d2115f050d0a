"""TF Serving's gRPC API (PredictionService, ModelService) on its own protos."""
from __future__ import annotations

import grpc
import tensorflow as tf
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                     predict_pb2, prediction_service_pb2_grpc)

from serving.decoding import decode_tensor_protos
from serving.errors import ServingError, invalid
from serving.predictor import Predictor

UNIMPLEMENTED_NOTE = ("these exports carry tensorflow/serving/predict signatures only; "
                      "use Predict (serving_default or predict_records)")


def _version(model_spec) -> int | None:
    if model_spec.HasField("version_label") and model_spec.version_label:
        raise invalid(f"version labels are not supported (got {model_spec.version_label!r}); "
                      f"ask for a version number")
    return model_spec.version.value if model_spec.HasField("version") else None


def model_status_response(predictor: Predictor, name: str, version: int | None):
    response = get_model_status_pb2.GetModelStatusResponse()
    for v, state, error in predictor.store.states(name, version):
        status = response.model_version_status.add()
        status.version = v
        status.state = get_model_status_pb2.ModelVersionStatus.State.Value(state)
        status.status.SetInParent()  # TF Serving always reports a status, OK included
        if error:
            status.status.error_code = 2  # UNKNOWN: the load failed
            status.status.error_message = error
    return response


def model_metadata_response(predictor: Predictor, name: str, version: int | None):
    servable = predictor.store.get(name, version)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, definition in servable.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(definition)
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.metadata["signature_def"].Pack(signature_map)
    return response


def _abort(context, err: ServingError):
    context.abort(err.code, err.message)


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def Predict(self, request, context):
        try:
            with self.predictor.limiter.slot():  # before decoding: a waiting request holds no arrays
                servable, signature = self.predictor.find(
                    request.model_spec.name, _version(request.model_spec), request.model_spec.signature_name)
                inputs = decode_tensor_protos(request.inputs, self.predictor.limits)
                outputs = self.predictor.run(servable, signature, inputs, tuple(request.output_filter))
        except ServingError as err:
            _abort(context, err)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = signature.name
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):
        try:
            unknown = [f for f in request.metadata_field if f != "signature_def"]
            if unknown or not request.metadata_field:
                raise invalid(f"metadata_field must be ['signature_def'], got {list(request.metadata_field)}")
            return model_metadata_response(self.predictor, request.model_spec.name, _version(request.model_spec))
        except ServingError as err:
            _abort(context, err)

    def Classify(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"Classify: {UNIMPLEMENTED_NOTE}")

    def Regress(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"Regress: {UNIMPLEMENTED_NOTE}")

    def MultiInference(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"MultiInference: {UNIMPLEMENTED_NOTE}")


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def GetModelStatus(self, request, context):
        try:
            return model_status_response(self.predictor, request.model_spec.name, _version(request.model_spec))
        except ServingError as err:
            _abort(context, err)

    def HandleReloadConfigRequest(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED,
                      "config reload is not supported: new versions are picked up by polling the base paths")


def add_services(server, predictor: Predictor) -> None:
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(predictor), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(predictor), server)
