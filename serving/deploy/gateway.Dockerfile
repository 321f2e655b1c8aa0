# The API gateway image (no TensorFlow): `docker build -f serving/deploy/gateway.Dockerfile .` from the repo root.
# Exact versions come from requirements.lock (as constraints); tensorflow-serving-api goes in with --no-deps
# because the gateway uses only its config protos (pure protobuf) to read models.config.
FROM python:3.10.13-slim

WORKDIR /app
COPY requirements.lock setup.py README.md ./
COPY gateway gateway
COPY serving serving
COPY pipeline/__init__.py pipeline/cli.py pipeline/
RUN pip install --no-cache-dir -c requirements.lock ".[gateway]" \
 && pip install --no-cache-dir --no-deps "$(grep '^tensorflow-serving-api==' requirements.lock)" \
 && useradd --system --uid 10001 gateway \
 && mkdir /state && chown gateway /state
USER gateway

EXPOSE 8080
# N2P_GATEWAY_SECRET and N2P_GATEWAY_DATABASE_URL come from the environment (a Secret on Kubernetes).
ENTRYPOINT ["nlp2prod", "gateway"]
CMD ["--host=0.0.0.0", "--port=8080", "--backend_url=http://nlp2prod-serving:8501", \
     "--model_config_file=/config/models.config", "--audit_log=/state/audit.jsonl"]
