"""Golden set: the version's warmup texts, answered by a real server right after the push, are answered the
same later; a server that answers differently (another model under the same version) is caught, by language."""

import os
import re

from monitoring import cli

from serving import sample_model as serving_test_model

MODEL = "nlp2prod"


def _served(base, seed):
    from serving import server

    serving_test_model.export_test_model(os.path.join(base, "1"), seed=seed, model_name=MODEL)
    return server.serve_model(MODEL, base)


def test_record_then_check_and_a_changed_server_is_caught(tmp_path, capsys):
    home, serving_root = str(tmp_path / "home"), str(tmp_path / "serving")
    with _served(os.path.join(serving_root, MODEL), seed=1) as pushed:
        url = f"http://localhost:{pushed.rest_port}"
        common = ["--version", "1", "--server", url, "--home", home, "--serving-root", serving_root]
        assert cli.golden_main(["record", *common]) == 0
        assert cli.golden_main(["check", *common]) == 0
    assert f"{len(serving_test_model.WARMUP_TEXTS)} texts, 0 changed" in capsys.readouterr().out
    with _served(str(tmp_path / "other" / MODEL), seed=2) as other:
        changed = cli.golden_main(["check", "--version", "1", "--server", f"http://localhost:{other.rest_port}",
                                   "--home", home, "--serving-root", serving_root])
    out = capsys.readouterr().out
    assert changed == cli.BREACH_EXIT
    counts = re.search(r"(\d+) texts, (\d+) changed", out)
    assert counts and int(counts.group(2)) >= 1
    changed_lines = [line for line in out.splitlines() if "largest probability change" in line]
    assert len(changed_lines) == int(counts.group(2))
    assert all(re.match(r"\s+\[[a-z]{2,3}\] '", line) for line in changed_lines)  # each names its language
    assert cli.golden_main(["check", "--version", "7", "--home", home, "--serving-root", serving_root]) == 1
