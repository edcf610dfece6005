import json

import numpy as np
import pytest
import torch
from torch import nn

from applied_mlx import artifacts as A
from applied_mlx.artifacts import ArtifactError


class TinyNet(nn.Module):
    def __init__(self, n_in=3, hidden=5):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        self.head = self.body[2]  # a tied (shared) module: safetensors must still save it

    def forward(self, x):
        return self.body(x)


CONFIG = {"model": {"class": "TinyNet", "kwargs": {"n_in": 3, "hidden": 5}},
          "preprocessing": {"mean": np.array([0.5, 1.0, 1.5]), "labels": ("neg", "pos")},
          "training": {"profile": "smoke", "data": "generated"}}


def saved(tmp_path, **overrides):
    torch.manual_seed(0)
    model = TinyNet()
    kwargs = dict(component="tiny", config=CONFIG, metrics={"accuracy": np.float32(0.75)}, model=model)
    path = A.save_artifact(tmp_path / "art", **{**kwargs, **overrides})
    return model, path


def test_round_trip_gives_identical_predictions(tmp_path):
    model, path = saved(tmp_path, files={"kb.json": [{"q": "hi"}], "notes.txt": "plain"})
    art = A.load_artifact(path, component="tiny")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "kb.json", "metrics.json",
                                                      "model.safetensors", "notes.txt"]
    cfg = art.config
    assert cfg["schema_version"] == A.SCHEMA_VERSION and cfg["component"] == "tiny"
    assert cfg["preprocessing"] == {"mean": [0.5, 1.0, 1.5], "labels": ["neg", "pos"]}
    assert cfg["versions"]["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert art.metrics == {"accuracy": 0.75}
    reloaded = art.load_into(TinyNet(**cfg["model"]["kwargs"]))
    x = torch.randn(7, 3)
    assert torch.equal(model(x), reloaded(x))
    assert json.loads(art.file("kb.json").read_text()) == [{"q": "hi"}]


def test_pretrained_round_trip_through_from_pretrained(tmp_path):
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=2,
                              max_position_embeddings=32)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    path = A.save_artifact(tmp_path / "text", component="sentiment", config={}, pretrained=model)
    art = A.load_artifact(path, "sentiment")
    reloaded = AutoModelForSequenceClassification.from_pretrained(art.pretrained_dir).eval()
    ids = torch.randint(0, 50, (2, 7))
    assert torch.allclose(model(input_ids=ids).logits, reloaded(input_ids=ids).logits)
    with pytest.raises(ArtifactError, match="no model.safetensors"):
        art.state_dict()


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(ArtifactError, match="no artifact folder .* run the day's notebook"):
        A.load_artifact(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="has no config.json"):
        A.load_artifact(tmp_path / "empty")
    _, path = saved(tmp_path, files={"kb.json": []})
    (path / "kb.json").unlink()
    with pytest.raises(ArtifactError, match="lacks kb.json"):
        A.load_artifact(path)
    (path / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="lacks model.safetensors, kb.json"):
        A.load_artifact(path)


def test_wrong_schema_version_and_component(tmp_path):
    _, path = saved(tmp_path)
    with pytest.raises(ArtifactError, match="holds a 'tiny' component, not 'recommender'"):
        A.load_artifact(path, component="recommender")
    config = json.loads((path / "config.json").read_text())
    config["schema_version"] = 99
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="schema_version 99; this applied_mlx reads version 1"):
        A.load_artifact(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        A.load_artifact(path)


def test_shape_mismatch_names_the_tensors(tmp_path):
    _, path = saved(tmp_path)
    art = A.load_artifact(path)
    with pytest.raises(ArtifactError, match=r"body\.0\.weight: saved \(5, 3\), model \(8, 3\)"):
        art.load_into(TinyNet(hidden=8))
    with pytest.raises(ArtifactError, match=r"missing from the file: extra"):
        model = TinyNet()
        model.extra = nn.Linear(1, 1)
        art.load_into(model)


def test_damaged_weights_file(tmp_path):
    _, path = saved(tmp_path)
    (path / "model.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(ArtifactError, match="not a readable safetensors file"):
        A.load_artifact(path).state_dict()


def test_a_failed_save_leaves_the_previous_artifact(tmp_path):
    _, path = saved(tmp_path)
    before = (path / "model.safetensors").read_bytes()
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        A.save_artifact(path, component="tiny", config={"bad": object()}, model=TinyNet(hidden=9))
    assert (path / "model.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["art"]  # no staging folder left behind
    A.load_artifact(path).load_into(TinyNet())


def test_save_needs_weights_and_keeps_its_own_keys(tmp_path):
    with pytest.raises(ValueError, match="needs model="):
        A.save_artifact(tmp_path / "x", component="tiny", config={})
    with pytest.raises(ValueError, match="may not set component, schema_version"):
        A.save_artifact(tmp_path / "x", component="tiny", config={"schema_version": 2, "component": "x"},
                        model=TinyNet())


def test_artifact_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(A.ARTIFACTS_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert A.artifact_dir("Day1_Recommendation") == tmp_path / "artifacts/Day1_Recommendation"
    (tmp_path / "Day1_Recommendation").mkdir()
    assert A.artifact_dir("Day1_Recommendation") == tmp_path / "Day1_Recommendation/artifacts"
    monkeypatch.chdir(tmp_path / "Day1_Recommendation")
    assert A.artifact_dir("Day1_Recommendation") == tmp_path / "Day1_Recommendation/artifacts"
    monkeypatch.setenv(A.ARTIFACTS_VAR, str(tmp_path / "shared"))
    assert A.artifact_dir("Day1_Recommendation") == tmp_path / "shared/Day1_Recommendation"


# ---------------------------------------------------------------- the component contract's one error path
@pytest.mark.parametrize("name, content, message", [
    ("config.json", b"[1, 2]", "holds list .* not a JSON object"),
    ("config.json", b'{"schema_version": 1, "component": "tiny\xff\xfe"}', "not UTF-8 text"),
    ("metrics.json", b"[0.1]", "holds list .* not a JSON object: the metrics is damaged"),
])
def test_damaged_json_is_an_artifact_error(tmp_path, name, content, message):
    _, path = saved(tmp_path)
    (path / name).write_bytes(content)
    with pytest.raises(ArtifactError, match=message):
        A.load_artifact(path)


def test_declared_files_must_stay_inside_the_folder(tmp_path):
    _, path = saved(tmp_path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "files": ["../../etc/passwd"]}))
    with pytest.raises(ArtifactError, match="must stay inside the artifact folder"):
        A.load_artifact(path)
    (path / "config.json").write_text(json.dumps({**config, "files": "kb.json"}))
    with pytest.raises(ArtifactError, match="must be a list of file names"):
        A.load_artifact(path)
    with pytest.raises(ValueError, match="must stay inside"):
        A.save_artifact(tmp_path / "x", component="tiny", config={}, model=TinyNet(), files={"../x.txt": "no"})


def test_a_truncated_weights_file_is_caught_from_its_header(tmp_path):
    _, path = saved(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[:-12])
    art = A.load_artifact(path)
    with pytest.raises(ArtifactError, match="is truncated: tensor"):
        art.weights_header()
    with pytest.raises(ArtifactError, match="is truncated"):
        art.load_into(TinyNet())


def test_load_module_checks_shapes_on_the_meta_device_before_allocating(tmp_path):
    _, path = saved(tmp_path)
    art = A.load_artifact(path)
    devices = []

    def build(hidden):
        def make():
            model = TinyNet(hidden=hidden)
            devices.append(next(model.parameters()).device.type)
            return model
        return make

    with pytest.raises(ArtifactError, match=r"body\.0\.weight: saved \(5, 3\), model \(20000000, 3\)"):
        art.load_module(build(20_000_000))  # 240 MB of float32 if it were allocated
    assert devices == ["meta"]  # never built for real
    model = art.load_module(build(5))
    assert devices[-1] == "cpu" and model.body[0].weight.shape == (5, 3)


def test_pickle_files_are_refused_in_a_pretrained_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert A.check_no_pickles(folder) == folder
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(ArtifactError, match="pytorch_model.bin: pickle-based files can run code"):
        A.check_no_pickles(folder)


def test_config_from_checks_every_field():
    from dataclasses import dataclass

    @dataclass
    class Args:
        n_items: int
        dim: int = 8
        dropout: float = 0.5
        sizes: tuple[int, ...] = (1, 2)
        name: str | None = None

        def __post_init__(self):
            A.positive("dim", self.dim)

    where = "config.json field 'ranker'"
    args = A.config_from(Args, {"n_items": 3, "dropout": 1, "sizes": [4, 5]}, where)
    assert args == Args(3, 8, 1.0, (4, 5), None) and isinstance(args.dropout, float)
    assert A.as_dict(args) == {"n_items": 3, "dim": 8, "dropout": 1.0, "sizes": [4, 5], "name": None}
    for data, message in [([1], "must be a JSON object"),
                          ({}, "lacks the field 'n_items'"),
                          ({"n_items": 3, "bogus": 1}, "unknown field"),
                          ({"n_items": "3"}, r"ranker'.n_items must be a whole number"),
                          ({"n_items": True}, "must be a whole number"),
                          ({"n_items": 3, "sizes": [1, "x"]}, r"sizes\[1\] must be a whole number"),
                          ({"n_items": 3, "dim": 0}, "dim must be > 0")]:
        with pytest.raises(ArtifactError, match=message):
            A.config_from(Args, data, where)


def test_load_component_turns_any_fault_into_an_artifact_error(tmp_path):
    _, path = saved(tmp_path)

    def build(art):
        return art.config["no such key"]

    with pytest.raises(ArtifactError, match=r"the tiny component could not be read \(KeyError: 'no such key'\)"):
        A.load_component(path, "tiny", build)
    art = A.load_artifact(path)
    with pytest.raises(ArtifactError, match="lacks the field 'model.depth'"):
        art.field("model.depth", int)
    with pytest.raises(ArtifactError, match="'model.class' must be int"):
        art.field("model.class", int)
    assert art.field("model.kwargs.hidden", int) == 5
    (path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ArtifactError, match="lacks the column"):
        art.read_csv("t.csv", columns=["title"])
    (path / "e.csv").write_text("")
    with pytest.raises(ArtifactError, match="EmptyDataError"):
        art.read_csv("e.csv")


def test_named_pretrained_subfolders(tmp_path):
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, num_labels=2,
                              max_position_embeddings=32)
    one, two = (AutoModelForSequenceClassification.from_config(config) for _ in range(2))
    path = A.save_artifact(tmp_path / "two", component="tiny", config={}, pretrained={"intent": one, "qa": two})
    art = A.load_artifact(path)
    assert art.config["weights"] == ["intent/", "qa/"]
    assert art.from_pretrained(AutoModelForSequenceClassification, "qa").config.dim == 16
    (path / "qa" / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ArtifactError, match="pickle-based"):
        art.from_pretrained(AutoModelForSequenceClassification, "qa")


def test_fixed_length_tuples_and_section_messages(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Rater:
        rating_range: tuple[float, float] = (1.0, 5.0)
        dim: int = 4

    assert A.config_from(Rater, {"rating_range": [0.5, 5]}, "x").rating_range == (0.5, 5.0)
    with pytest.raises(ArtifactError, match="must have 2 entries"):
        A.config_from(Rater, {"rating_range": [1, 2, 3]}, "x")
    _, path = saved(tmp_path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "rater": {"dim": "four"}}))
    with pytest.raises(ArtifactError, match=r"config.json: field rater.dim must be a whole number"):
        A.load_artifact(path).section("rater", Rater)
