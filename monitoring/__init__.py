"""Quality monitoring in production: request logs, drift against training, live accuracy, alerts and reports.

Imports no TensorFlow (tests/test_layering.py checks the whole import closure): the gateway, the embedded server
and a monitoring CronJob run it without one.

Module map:
    config.py          MonitorConfig: the RunConfig's `monitor` section (paths, log limits, every threshold)
    log_protos.py      TF Serving's PredictionLog / LoggingConfig and tf.Example, built from descriptors
    tensors.py         Python / numpy values <-> TensorProto
    request_log.py     RequestLogger: sampled PredictionLogs to rotated TFRecord files (LoggingConfig semantics)
    rest_payloads.py   TF Serving REST predict bodies (row / columnar, b64) -> the tensors to log
    language.py        language detection among many languages (lingua), shared per process
    log_reader.py      a window of logs -> one LoggedText per classified text
    reference.py       a version's training reference: StatisticsGen output + the examples it described
    lineage_lookup.py  version -> run -> StatisticsGen artifacts in ML Metadata
    distributions.py   shares, length histograms, L-infinity and Jensen-Shannon distances
    analysis.py        one version's window against its reference -> figures and alerts (pure)
    feedback.py        true labels by request id -> live accuracy and macro-F1 with counts
    report.py          a monitoring run -> report.json, report.html, metrics.prom
    metrics.py         Prometheus gauges of a report     html_report.py  the HTML page with inline SVG charts
    golden.py          golden set: a version's warmup texts replayed through a server, answers kept and compared
    cli.py             `nlp2prod monitor | feedback | golden`, and the breach check of `schedule --on-drift`

For the gateway (one logger per process; calls return at once, a thread writes):
    from monitoring.config import MonitorConfig
    from monitoring.request_log import RequestLogger, settings_from_monitor_config
    logger = RequestLogger(settings_from_monitor_config(MonitorConfig().under(home)))
    request_id = logger.log_predict(model, version, {"text": texts},
                                    {"probabilities": rows_of_floats, "label": labels},
                                    request_id=gateway_request_id, source="gateway", latency_ms=ms)
    # a proxied REST :predict: inputs, outputs = rest_payloads.predict_tensors(body, answer) -> log_predict(...)
    # POST /v1/feedback {"request_id", "label"}:
    from monitoring.feedback import record_feedback      # raises FeedbackError (-> 400) on a bad id/label
    record_feedback(config.feedback_path, request_id, label, labels=version_labels, source=key_id)
    # GET /v1/monitoring/report: the JSON at os.path.join(config.report_dir, report.REPORT_JSON) (404 if absent);
    # its HTML beside it (report.REPORT_HTML); metrics.exposition(report_json) for a /metrics endpoint.
"""
