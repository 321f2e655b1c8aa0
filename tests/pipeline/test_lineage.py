"""`nlp2prod lineage`: a pushed version traced to its run, span, metrics, baseline and label moves."""

import json
import os

from pipeline import lineage
from pipeline.configs import DataConfig, PushConfig, RunConfig
from pipeline.local_runner import run_local
from serving.rollback import LabelMove, append_audit
from toy_pipeline import toy_pipeline_factory


def _pushed_twice(tmp_path):
    home = str(tmp_path)
    config = RunConfig(home=home, data=DataConfig(data_root=os.path.join(home, "data")),
                       push=PushConfig(serving_root=os.path.join(home, "serving")))
    records = []
    for span in (1, 2):
        os.makedirs(os.path.join(config.data.data_root, f"span-{span}"))
        records.append(run_local(config, toy_pipeline_factory()))
    return config, records


def test_lineage_of_two_scheduled_versions(tmp_path, capsys):
    config, (first, second) = _pushed_twice(tmp_path)
    audit = os.path.join(config.push.serving_root, lineage.AUDIT_LOG_NAME)
    models_config = os.path.join(config.push.serving_root, "models.config")
    append_audit(audit, "ana", "promote", "nlp2prod", [LabelMove("stable", None, 1)], models_config)
    append_audit(audit, "ana", "promote", "nlp2prod", [LabelMove("stable", 1, 2)], models_config)
    append_audit(audit, "bo", "rollback", "nlp2prod", [LabelMove("stable", 2, 1)], models_config)

    assert lineage.main(["2", "--home", config.home, "--json"]) == 0
    traced = json.loads(capsys.readouterr().out)
    assert (traced["run_id"], traced["data_spans"], traced["version"]) == (second.run_id, [2], 2)
    assert traced["baseline"]["version"] == 1
    assert traced["evaluation"]["metrics"]["per_language"]["en"]["accuracy"] == 0.9
    assert [c["node"] for c in traced["components"]] == ["ReadSpan", "Hold", "ToyPusher"]
    assert [(e["action"], e["from_version"], e["to_version"]) for e in traced["labels"]["events"]] == [
        ("promote", 1, 2), ("rollback", 2, 1)]
    assert traced["labels"]["current"] == []

    assert lineage.main(["1", "--home", config.home]) == 0
    report = capsys.readouterr().out
    assert f"by run {first.run_id}" in report and "span(s) 1" in report and "labels now stable" in report


def test_unknown_version_and_missing_store_are_one_line_errors(tmp_path, capsys):
    assert lineage.main(["3", "--home", str(tmp_path)]) == 1
    assert "version 3 of 'nlp2prod' is not under" in capsys.readouterr().err
    version_dir = tmp_path / "serving" / "nlp2prod" / "1" / "assets.extra"
    version_dir.mkdir(parents=True)
    (version_dir / "nlp2prod_metadata.json").write_text(json.dumps({"run_id": "r-1"}))
    assert lineage.main(["1", "--home", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("nlp2prod lineage: no metadata store at") and "\n" not in error


def test_schedule_fires_twice_on_two_spans_and_both_versions_trace_back(tmp_path, capsys):
    from pipeline.local_runner import run_once
    from pipeline.run_history import read_history
    from pipeline.schedule import run_schedule

    home = str(tmp_path)
    config = RunConfig(home=home, data=DataConfig(data_root=os.path.join(home, "data")),
                       push=PushConfig(serving_root=os.path.join(home, "serving")))

    def fire(number):
        # A new span lands between firings, as a data export would; the next firing must pick it up.
        os.makedirs(os.path.join(config.data.data_root, f"span-{number}"))
        return run_once(config, toy_pipeline_factory(), trigger="schedule")

    records = run_schedule("* * * * * */1", fire, max_runs=2)
    assert [(r.outcome, r.version, r.spans) for r in records] == [("pushed", 1, [1]), ("pushed", 2, [2])]
    assert [r.trigger for r in read_history(config.run_history_path)] == ["schedule", "schedule"]
    for record in records:
        assert lineage.main([str(record.version), "--home", home, "--json"]) == 0
        traced = json.loads(capsys.readouterr().out)
        assert (traced["run_id"], traced["data_spans"]) == (record.run_id, record.spans)
