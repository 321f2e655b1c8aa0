"""tensorflow_model_server's flags and listeners on `nlp2prod serve`: the UNIX socket, gRPC channel arguments,
TLS from --ssl_config_file, TFLite models, the profiler service, and the flags' one declaration in ServerConfig."""

import dataclasses
import datetime
import glob
import json
import os

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import parity_models
from serving import cli, config as config_lib, server
from serving.config import ServerConfig
from serving.dataplane import ModelRef


@pytest.fixture(scope="module")
def half_plus_two(tmp_path_factory):
    return parity_models.export_half_plus_two_tf2(str(tmp_path_factory.mktemp("half_plus_two")))


def predict_y(channel, value=2.0):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "default"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([value], np.float32)))
    response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
    return list(response.outputs["y"].float_val)


def test_grpc_socket_path_adds_a_unix_socket_listener(half_plus_two, tmp_path):
    socket_path = str(tmp_path / "tf-serving.sock")
    with server.serve_model("default", half_plus_two, grpc_socket_path=socket_path) as srv:
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            assert predict_y(channel) == [3.0]
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            assert predict_y(channel) == [3.0]


def test_grpc_channel_arguments_reach_the_server(half_plus_two):
    arguments = cli.server_config(cli.parse_serve_flags([
        "--grpc_channel_arguments=grpc.max_connection_age_ms=2000,grpc.lb_policy_name=grpclb"])).grpc_channel_arguments
    assert arguments == (("grpc.max_connection_age_ms", 2000), ("grpc.lb_policy_name", "grpclb"))
    with server.serve_model("default", half_plus_two, grpc_channel_arguments=arguments) as srv:
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            assert predict_y(channel) == [3.0]


def test_prefer_tflite_model_serves_model_tflite_through_the_interpreter(tmp_path):
    base = parity_models.export_tflite_half_plus_two(str(tmp_path / "tflite"))
    with server.serve_model("default", base, prefer_tflite_model=True) as srv:
        # No SignatureDefs in the model's metadata: one serving_default keyed by tensor names without ":0".
        (key, signature), = srv.plane.metadata(ModelRef("default")).value.items()
        (alias,), (output,) = signature.inputs, signature.outputs
        assert key == "serving_default" and alias == "serving_default_x"
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "default"
        request.inputs[alias].CopyFrom(tf.make_tensor_proto(np.array([[4.0], [6.0]], np.float32)))
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
        assert list(response.outputs[output].float_val) == [4.0, 5.0]
    with server.serve_model("default", base) as srv:  # without the flag a model.tflite dir is no SavedModel
        assert srv.store.model_names() == ["default"] and not srv.store.available("default")


def self_signed():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_ssl_config_file_serves_grpc_over_tls(half_plus_two, tmp_path):
    key_pem, cert_pem = self_signed()
    ssl_file = tmp_path / "ssl.config"
    ssl_file.write_text(f"server_key: {json.dumps(key_pem)}\nserver_cert: {json.dumps(cert_pem)}\n")
    ssl = config_lib.read_ssl_config(str(ssl_file))
    with server.serve_model("default", half_plus_two, ssl=ssl) as srv:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert_pem.encode())
        with grpc.secure_channel(f"localhost:{srv.grpc_port}", credentials) as channel:
            assert predict_y(channel) == [3.0]
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel, pytest.raises(grpc.RpcError):
            predict_y(channel)


def test_profiler_service_writes_a_trace_with_tensorflows_profiler(half_plus_two, tmp_path):
    with server.serve_model("default", half_plus_two) as srv:
        tf.profiler.experimental.client.trace(f"grpc://localhost:{srv.grpc_port}", str(tmp_path), 300)
    assert glob.glob(str(tmp_path / "plugins" / "profile" / "*" / "*.xplane.pb"))


def test_enable_profiler_false_leaves_the_profiler_service_out(half_plus_two):
    with server.serve_model("default", half_plus_two, enable_profiler=False) as srv:
        with grpc.insecure_channel(f"localhost:{srv.grpc_port}") as channel:
            with pytest.raises(grpc.RpcError) as caught:
                channel.unary_unary("/tensorflow.ProfilerService/Profile")(b"", timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_bad_model_config_file_prints_upstreams_parse_error_and_exits_non_zero(tmp_path, capsys):
    config_file = tmp_path / "bad_model_config.txt"
    config_file.write_text("improperly formatted file")
    assert cli.serve_main([f"--model_config_file={config_file}"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert ("Error parsing text-format tensorflow.serving.ModelServerConfig: 1:1 : Message type "
            "\"tensorflow.serving.ModelServerConfig\" has no field named \"improperly\".") in line


@pytest.mark.parametrize("flag, words", [
    ("--mixed_precision=bf16", "--mixed_precision is a tensorflow_model_server flag that nlp2prod serve does not"),
    ("--tensorflow_intra_op_parallelism=2", "--tensorflow_intra_op_parallelism is a tensorflow_model_server flag"),
    ("--no_such_flag=1", "unrecognized argument --no_such_flag=1"),
    ("--grpc_channel_arguments=novalue", "'novalue' is not key=value"),
])
def test_flags_we_do_not_support_are_refused_by_name_in_one_line(flag, words, capsys):
    assert cli.serve_main([flag]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert words in line


def test_every_serve_flag_is_a_server_config_field_with_its_default():
    config = cli.server_config(cli.parse_serve_flags([]))
    for field in dataclasses.fields(ServerConfig):
        if field.name != "models":
            assert getattr(config, field.name) == field.default, field.name
    flags = {action.dest: action.option_strings for action in cli._serve_parser()._actions}
    for field, flag in config_lib.flag_fields():
        assert flags[field.name] == [f"--{flag.name or field.name}"]
    assert flags["load_retry_interval_seconds"] == ["--load_retry_interval_micros"]
    parsed = cli.server_config(cli.parse_serve_flags([
        "--load_retry_interval_micros=250000", "--rest_api_port=0", "--enable_signature_method_name_check",
        "--prefer_tflite_model=true", f"--grpc_socket_path={os.sep}tmp{os.sep}s.sock", "--rest_api_num_threads=3"]))
    assert parsed.load_retry_interval_seconds == 0.25 and parsed.rest_api_port is None
    assert parsed.enable_signature_method_name_check and parsed.prefer_tflite_model
    assert parsed.grpc_socket_path == "/tmp/s.sock" and parsed.rest_api_num_threads == 3
