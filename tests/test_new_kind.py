"""A new kind is a model and a line in the registry, nothing else: every stage picks it up.

The kind is declared inside the test (a pydantic model and a ``kinds.KINDS`` entry); the test
then builds a whole site and finds the kind's record pages, its index, its export table and its
JSON Schema, with its reference field linked and its facet offered, no stage edited.
"""
import csv
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Annotated, Literal, Optional

import pytest

from generator import kinds, models
from generator.build import build_site
from generator.models import Ref, Shown, Text

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "valid" / "content"


class Dataset(models.Named):
    """A collection of data that systems are trained or evaluated on."""

    maintainer: Annotated[Optional[Ref("organizations", label="maintained by", inverse="maintains")],
                          Shown(facet=True)] = None
    licence: Annotated[Literal["open", "restricted", "closed"], Shown(facet=True)]
    size: Optional[Text] = None


DATASET = """\
id: frontier-evals
name: Frontier <Evals>
summary: A benchmark collection used to compare frontier systems.
maintainer: {maintainer}
licence: restricted
size: 4,000 tasks
tags: [evaluation]
"""


@pytest.fixture
def with_datasets(monkeypatch, tmp_path):
    monkeypatch.setitem(kinds.KINDS, "datasets", kinds.Kind(
        "datasets", "dataset", "Datasets", Dataset, "#37474f", ("maintainer", "licence", "quality")))
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "generator").symlink_to(REPO / "generator")
    shutil.copytree(FIXTURE, tmp_path / "content")
    organization = sorted((tmp_path / "content" / "organizations").glob("*.yaml"))[0].stem
    (tmp_path / "content" / "datasets").mkdir()
    (tmp_path / "content" / "datasets" / "frontier-evals.yaml").write_text(DATASET.format(maintainer=organization))
    return tmp_path, organization


def test_a_kind_declared_in_a_test_gets_pages_index_export_and_schema(with_datasets):
    project, organization = with_datasets
    result = build_site(project / "mkdocs.yml")
    assert result.ok, result.diagnostics
    site = project / "site"

    page = (site / "datasets" / "frontier-evals.html").read_text()
    assert "Frontier &lt;Evals&gt;" in page and "<Evals>" not in page
    assert f'href="../organizations/{organization}.html"' in page  # the reference shows as a link
    assert "Restricted" in page and "4,000 tasks" in page

    index = (site / "datasets" / "index.html").read_text()
    assert 'href="frontier-evals.html"' in index and f'href="../organizations/{organization}.html"' in index
    # The organization's page says who links to it, read from its side.
    assert "Maintains" in (site / "organizations" / f"{organization}.html").read_text()

    rows = list(csv.DictReader(open(site / "data" / "datasets.csv", newline="", encoding="utf-8")))
    assert [(r["id"], r["maintainer"], r["licence"]) for r in rows] == [("frontier-evals", organization, "restricted")]
    database = sqlite3.connect(site / "data" / "knowledge.sqlite")
    assert database.execute("SELECT name, licence FROM datasets").fetchall() == [("Frontier <Evals>", "restricted")]
    assert database.execute("SELECT kind FROM records WHERE id = 'frontier-evals'").fetchone() == ("datasets",)
    metadata = json.loads((site / "data" / "metadata.json").read_text())
    assert metadata["databases"]["knowledge"]["tables"]["datasets"]["facets"][:2] == ["maintainer", "licence"]

    schema = json.loads((site / "schemas" / "datasets.schema.json").read_text())
    assert schema["properties"]["licence"]["enum"] == ["open", "restricted", "closed"]
    assert "licence" in schema["required"]


def test_a_bad_record_of_the_new_kind_is_reported_like_any_other(with_datasets):
    project, _ = with_datasets
    path = project / "content" / "datasets" / "frontier-evals.yaml"
    path.write_text(path.read_text().replace("licence: restricted", "licence: secret"))
    result = build_site(project / "mkdocs.yml")
    assert not result.ok
    (problem,) = result.diagnostics
    # Paths are shown relative to where kb runs; the test runs elsewhere.
    assert problem.file.endswith("/content/datasets/frontier-evals.yaml")
    assert (problem.line, problem.field) == (5, "licence") and "restricted" in problem.hint
