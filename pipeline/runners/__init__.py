"""Compile targets: the same `create_pipeline` emitted for Airflow, Kubeflow V2 / Vertex and a Kubernetes CronJob.

The local runner is `pipeline.local_runner` (LocalDagRunner + SQLite MLMD under the run lock).

Modules:
  beam         Beam pipeline arguments per target (direct, multiprocess, dataflow, flink, spark)
  airflow      the Airflow DAG file (generated Python source; Airflow is not needed to write it)
  kubeflow_v2  the Kubeflow V2 / Vertex pipeline JSON (KubeflowV2DagRunner) and its schedule
  cronjob      the Kubernetes CronJob manifest that runs `nlp2prod run` on the schedule
"""

__all__ = ["airflow", "beam", "cronjob", "kubeflow_v2"]
