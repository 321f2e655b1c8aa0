"""Beam arguments per target: each parses as Beam pipeline options, and missing settings are named."""

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.configs import OpsConfig, RunConfig
from pipeline.runners.beam import BEAM_TARGETS, BeamTargetError, beam_args_for, with_beam_target

CLUSTER = OpsConfig(gcp_project="proj", beam_temp_location="gs://bucket/tmp", beam_workers=8, image="reg/nlp2prod:1",
                    beam_job_endpoint="localhost:8097", beam_worker_pool="localhost:50000")


@pytest.mark.parametrize("target", BEAM_TARGETS)
def test_every_argument_is_a_known_beam_option(target):
    args = beam_args_for(CLUSTER, target)
    known = PipelineOptions([]).get_all_options(drop_default=False)
    parsed = PipelineOptions(list(args)).get_all_options(drop_default=False)
    for arg in args:
        name, _, value = arg[2:].partition("=")
        assert name in known, f"{target}: {arg} is not a Beam option"
        assert str(parsed[name]) == value or value in str(parsed[name])


def test_runner_per_target():
    runners = {t: PipelineOptions(list(beam_args_for(CLUSTER, t))).get_all_options()["runner"] for t in BEAM_TARGETS}
    assert runners == {"direct": None, "multiprocess": None, "portable": "PortableRunner", "dataflow": "DataflowRunner",
                       "flink": "FlinkRunner", "spark": "PortableRunner"}
    assert "--direct_running_mode=multi_processing" in beam_args_for(CLUSTER, "multiprocess")
    assert "--direct_num_workers=8" in beam_args_for(CLUSTER, "multiprocess")
    assert "--sdk_container_image=reg/nlp2prod:1" in beam_args_for(CLUSTER, "dataflow")
    assert {"--environment_type=EXTERNAL", "--environment_config=localhost:50000",
            "--direct_num_workers=8"} <= set(beam_args_for(CLUSTER, "portable"))


def test_portable_names_the_missing_endpoints():
    with pytest.raises(BeamTargetError, match=r"needs ops.beam_job_endpoint, ops.beam_worker_pool"):
        beam_args_for(OpsConfig(), "portable")


def test_dataflow_names_the_missing_settings():
    with pytest.raises(BeamTargetError, match=r"ops.gcp_project, ops.beam_temp_location .*--set ops.gcp_project="):
        beam_args_for(OpsConfig(), "dataflow")
    with pytest.raises(BeamTargetError, match="gs:// path"):
        beam_args_for(OpsConfig(gcp_project="p", beam_temp_location="/tmp/x"), "dataflow")


def test_unknown_target():
    with pytest.raises(BeamTargetError, match="unknown Beam target 'mapreduce'"):
        beam_args_for(OpsConfig(), "mapreduce")


def test_direct_target_keeps_explicit_args_and_others_replace_them():
    multiprocess = RunConfig(beam_args=("--direct_running_mode=multi_processing", "--direct_num_workers=2"))
    assert with_beam_target(multiprocess) == multiprocess
    flink = multiprocess.replace(ops=CLUSTER.__class__(beam_target="flink"))
    assert with_beam_target(flink).beam_args[0] == "--runner=FlinkRunner"
