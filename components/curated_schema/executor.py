"""CuratedSchemaGen executor: writes the schema built from its parameters as schema.pbtxt."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.curated_schema.schema import SCHEMA_FILE, curated_schema


class Executor(base_executor.BaseExecutor):
    """Builds the curated schema and writes it into the Schema artifact."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        schema = curated_schema(json.loads(exec_properties["labels"]), json.loads(exec_properties["languages"]),
                                float(exec_properties["max_label_drift"]),
                                float(exec_properties["max_language_drift"]))
        output = artifact_utils.get_single_instance(output_dict["schema"])
        io_utils.write_pbtxt_file(os.path.join(output.uri, SCHEMA_FILE), schema)
