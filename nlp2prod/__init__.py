"""The project's custom TFX artifact types under their Kubeflow V2 schema titles.

A Kubeflow V2 / Vertex step rebuilds each artifact from its schema title by import path: the title
`nlp2prod.Quarantine` must import as the class `nlp2prod.Quarantine`. This package is only that name space; the
classes live with their components.
"""

from components.data_gate.component import DataGateReport
from components.model_export.component import ModelExports
from components.text_cleaner.component import Quarantine
from components.tokenization_gate.component import TokenizationReport

__all__ = ["DataGateReport", "ModelExports", "Quarantine", "TokenizationReport"]
