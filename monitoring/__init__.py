"""Quality monitoring in production: request logs, drift against training, live accuracy, alerts and reports.

Imports no TensorFlow: the gateway and a monitoring CronJob run it without one.
"""
