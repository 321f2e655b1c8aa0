"""The model gate's EvalConfig runs in TFMA against the exported signatures and names what failed where."""

import pytest
import tensorflow_model_analysis as tfma

from models.evaluation.gate import build_eval_config, read_failures
from tiny_model import export_untrained, write_raw_examples


def _analyze(eval_config, model_dir, data, output, with_baseline):
    config = tfma.utils.update_eval_config_with_defaults(eval_config, has_baseline=with_baseline,
                                                         rubber_stamp=True)
    models = [tfma.default_eval_shared_model(eval_saved_model_path=model_dir, model_name=spec.name,
                                             eval_config=config) for spec in config.model_specs]
    tfma.run_model_analysis(eval_shared_model=models if with_baseline else models[0], eval_config=config,
                            data_location=data, file_format="tfrecords", output_path=output)
    return output


@pytest.fixture(scope="module")
def evaluated(tiny_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    model_dir = export_untrained(tiny_corpus, folder / "model")
    data = write_raw_examples(tiny_corpus.eval_rows, str(folder / "eval.gz"))
    # Candidate and baseline are the same model: a negative tolerance demands an improvement it cannot show.
    impossible = build_eval_config(min_macro_f1=0.0, min_language_accuracy=1.01, regression_tolerance=-0.01)
    return _analyze(impossible, model_dir, data, str(folder / "evaluation"), with_baseline=True)


def test_failures_name_the_metric_and_the_language(evaluated):
    failures = {(f.metric, f.slice): f for f in read_failures(evaluated)}
    assert set(failures) == {("sparse_categorical_accuracy", "lang=en"), ("sparse_categorical_accuracy", "lang=it"),
                             ("sparse_categorical_accuracy (vs. baseline)", "overall"),
                             ("macro_f1 (vs. baseline)", "overall")}
    floor = failures[("sparse_categorical_accuracy", "lang=it")]
    assert 0.0 <= floor.value <= 1.0 and str(floor).startswith("sparse_categorical_accuracy lang=it: 0.")
    assert str(floor).endswith("< floor 1.0100")
    regression = failures[("macro_f1 (vs. baseline)", "overall")]
    assert regression.value == 0.0 and "must be >= +0.0100" in str(regression)


def test_macro_f1_and_accuracy_are_computed_per_language(evaluated):
    result = tfma.load_eval_result(evaluated, model_name="candidate")
    by_slice = {tuple(key): value[""][""] for key, value in result.slicing_metrics}
    assert set(by_slice) == {(), (("lang", "en"),), (("lang", "it"),)}
    for metrics in by_slice.values():
        assert {"macro_f1", "sparse_categorical_accuracy", "example_count",
                "macro_f1_diff", "sparse_categorical_accuracy_diff"} <= set(metrics)
        assert metrics["macro_f1_diff"]["doubleValue"] == 0.0  # candidate and baseline are the same model
    assert by_slice[()]["example_count"]["doubleValue"] == 48
