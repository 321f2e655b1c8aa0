"""The baseline: the model behind a naive Flask app, as course material teaches it.

One model call per HTTP request, JSON in and out, Flask's own threaded development server (werkzeug), no
batching, no gRPC. Started by serving_bench.py as a subprocess:

    python benchmarks/naive_flask_server.py --model_dir DIR --port PORT

POST /predict with {"instances": ["text", ...]} answers {"predictions": [{"label", "probabilities"}, ...]};
GET /health answers 200 once the model is loaded and has answered one warm-up call (the app listens only after
that).
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401  (registers the TF Text ops of the exported graph)
from flask import Flask, jsonify, request  # noqa: E402


def create_app(model_dir: str) -> Flask:
    app = Flask("naive_model_server")
    model = tf.saved_model.load(model_dir)
    predict = model.signatures["serving_default"]
    # One call before listening: the first call of a loaded SavedModel optimises its graph (seconds for a BERT),
    # and clients that arrive meanwhile would all wait for it. A fair baseline starts warm, as our server does.
    predict(text=tf.constant(["warm-up"]))

    @app.route("/health")
    def health():
        return jsonify({"ok": True})

    @app.route("/predict", methods=["POST"])
    def predict_route():
        texts = request.get_json()["instances"]
        outputs = predict(text=tf.constant(texts))
        labels = [label.decode("utf-8") for label in outputs["label"].numpy()]
        probabilities = outputs["probabilities"].numpy().tolist()
        return jsonify({"predictions": [{"label": label, "probabilities": row}
                                        for label, row in zip(labels, probabilities)]})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request would dominate
    create_app(args.model_dir).run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
