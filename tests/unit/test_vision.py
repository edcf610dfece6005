import hashlib
import io
import json
import resource
import shutil
import time

import numpy as np
import pytest
import torch
from artifact_edits import DROP, edited_copy
from PIL import Image
from torch import nn

from applied_mlx import vision
from applied_mlx.artifacts import ArtifactError, Component, as_dict


def tiny_model(backbone="resnet18", num_classes=3):
    torch.manual_seed(0)
    return vision.TransferNet(backbone, num_classes, pretrained=False)


# Preprocessing -----------------------------------------------------------------------------

def test_preprocessing_normalises_a_flat_colour_by_hand():
    pre = vision.Preprocessing(resize=40, crop=32)
    x = pre.eval_transform()(Image.new("RGB", (60, 50), (255, 0, 128)))
    assert x.shape == (3, 32, 32)
    expected = [(1.0 - 0.485) / 0.229, (0.0 - 0.456) / 0.224, (128 / 255 - 0.406) / 0.225]
    assert x.mean(dim=(1, 2)).tolist() == pytest.approx(expected, abs=1e-5)
    assert x.std(dim=(1, 2)).max() < 1e-5
    assert pre.to_image(x)[0, 0] == pytest.approx([1.0, 0.0, 128 / 255], abs=1e-6)


def test_preprocessing_resizes_the_shorter_side_then_crops_the_centre():
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, 100:] = 255  # right half white: the centre crop sees both halves equally
    x = vision.Preprocessing(resize=50, crop=50, mean=(0, 0, 0), std=(1, 1, 1)).eval_transform()(Image.fromarray(img))
    assert x.shape == (3, 50, 50)
    assert x[0, :, :20].max() < 0.05 and x[0, :, 30:].min() > 0.95


def test_preprocessing_for_backbones_and_round_trip():
    r = vision.Preprocessing.for_backbone("resnet18")
    assert (r.resize, r.crop, r.mean, r.std) == (256, 224, vision.IMAGENET_MEAN, vision.IMAGENET_STD)
    small = vision.Preprocessing.for_backbone("efficientnet_lite0", crop=64)
    assert (small.resize, small.crop) == (73, 64)  # 64 * 256 / 224
    assert vision.Preprocessing.from_dict(small.to_dict()) == small
    with pytest.raises(ValueError, match="crop <= resize"):
        vision.Preprocessing(resize=100, crop=200)
    with pytest.raises(ValueError, match="unknown backbone"):
        vision.Preprocessing.for_backbone("vgg")


def test_train_transform_gives_the_crop_size_and_varies():
    pre = vision.Preprocessing(resize=40, crop=32)
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    t = pre.train_transform()
    a, b = t(img), t(img)
    assert a.shape == b.shape == (3, 32, 32) and not torch.equal(a, b)


# Reading images ----------------------------------------------------------------------------

def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("make", [
    lambda: Image.new("RGB", (20, 10), (10, 20, 30)),
    lambda: Image.new("L", (20, 10), 77),
    lambda: Image.new("RGBA", (20, 10), (10, 20, 30, 255)),
    lambda: Image.new("CMYK", (20, 10), (0, 0, 0, 0)),
    lambda: Image.new("RGB", (20, 10), (10, 20, 30)).convert("P"),
    lambda: Image.fromarray(np.full((10, 20), 4000, np.uint16)),
], ids=["rgb", "grey", "rgba", "cmyk", "palette", "16-bit"])
def test_load_rgb_turns_every_mode_into_rgb(make):
    img = vision.load_rgb(make())
    assert img.mode == "RGB" and img.size == (20, 10)


def test_transparent_pixels_become_white_not_black():
    img = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert vision.load_rgb(img).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (4, 4), 0)
    palette.info["transparency"] = 0
    assert vision.load_rgb(palette).getpixel((0, 0)) == (255, 255, 255)


def test_load_rgb_reads_paths_bytes_and_arrays(tmp_path):
    src = Image.new("RGB", (12, 8), (200, 100, 50))
    src.save(tmp_path / "a.png")
    for source in (tmp_path / "a.png", str(tmp_path / "a.png"), png_bytes(src)):
        assert vision.load_rgb(source).getpixel((3, 3)) == (200, 100, 50)
    assert vision.load_rgb(np.full((8, 12), 9, np.uint8)).getpixel((0, 0)) == (9, 9, 9)
    assert vision.load_rgb(np.full((8, 12, 3), 1.0)).getpixel((0, 0)) == (255, 255, 255)
    assert vision.load_rgb(np.zeros((8, 12, 4), np.uint8)).getpixel((0, 0)) == (255, 255, 255)


def test_a_very_large_jpeg_is_accepted_and_decoded_reduced(tmp_path):
    Image.new("RGB", (6000, 4000), (0, 128, 255)).save(tmp_path / "big.jpg", quality=70)
    img = vision.load_rgb(tmp_path / "big.jpg")
    assert img.mode == "RGB" and 1024 <= min(img.size) < 4000  # decoded at a reduced scale
    assert img.size[0] / img.size[1] == pytest.approx(1.5, rel=0.01)


@pytest.mark.parametrize("bad, message", [
    ("missing.jpg", "no file at"),
    ("empty.jpg", "empty file"),
    ("text.jpg", "not an image"),
    ("folder", "not a file"),
])
def test_load_rgb_rejects_files_that_are_not_images(tmp_path, bad, message):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello, not a picture")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=message):
        vision.load_rgb(tmp_path / bad)


@pytest.mark.parametrize("bad, message", [
    (b"\x00\x01garbage", "not an image"),
    (b"", "empty"),
    (png_bytes(Image.new("RGB", (50, 50)))[:60], "damaged|not an image"),
    (np.zeros((4, 4, 2), np.uint8), "H x W"),
    (np.zeros((0, 4), np.uint8), "H x W"),
    (np.array([["a"]]), "numbers"),
    (42, "cannot read an image from a int"),
    (None, "cannot read an image from a NoneType"),
])
def test_load_rgb_rejects_what_is_not_an_image(bad, message):
    with pytest.raises(ValueError, match=message):
        vision.load_rgb(bad)


def test_shapes_dataset_is_an_image_folder(tmp_path):
    root = vision.make_shapes_dataset(tmp_path, n_train=4, n_val=2, size=32)
    train = vision.read_image_folder(root / "train")
    val = vision.read_image_folder(root / "val", resize=40, class_names=train.class_names)
    assert train.class_names == ["circle", "square", "triangle"]
    assert np.bincount(train.labels).tolist() == [4, 4, 4] and len(val) == 6
    assert train.images[0].size == (32, 32) and val.images[0].size == (40, 40)
    assert "4 circle" in repr(train)
    with pytest.raises(ValueError, match="expected"):
        vision.read_image_folder(root / "val", class_names=["ants", "bees"])
    with pytest.raises(ValueError, match="no image folder"):
        vision.read_image_folder(tmp_path / "nope")



@pytest.mark.parametrize("class_colours", [True, False])
def test_shapes_dataset_colours_each_class_unless_asked_not_to(tmp_path, class_colours):
    # With class colours the brightest pixel of every image is its shape's: red circles, green squares, blue
    # triangles (what lets the smoke profile's random network learn the classes); without, colour says nothing.
    root = vision.make_shapes_dataset(tmp_path, n_train=8, n_val=1, size=32, class_colours=class_colours)
    train = vision.read_image_folder(root / "train")
    channel = []
    for img in train.images:
        a = np.asarray(img, dtype=int).reshape(-1, 3)
        channel.append(int(a[a.sum(1).argmax()].argmax()))
    assert (np.array(channel) == train.labels).all() == class_colours
    assert set(vision.SHAPE_COLOURS) == set(train.class_names)

# Weights -----------------------------------------------------------------------------------

def test_default_backbone_takes_the_stand_in_only_when_resnet18_is_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    assert vision.default_backbone() == "resnet18"  # online users download it
    (folder / vision.STANDIN_FILE).write_bytes(b"x")
    assert vision.default_backbone() == "efficientnet_lite0"
    (folder / vision.RESNET18_FILE).write_bytes(b"x")
    assert vision.default_backbone() == "resnet18"


def test_the_stand_in_file_is_hash_checked(tmp_path):
    data = b"some weights"
    prefix = hashlib.sha256(data).hexdigest()[:8]
    good = tmp_path / f"weights-{prefix}.pth"
    good.write_bytes(data)
    vision._verify_hash_prefix(good)
    bad = tmp_path / "weights-00000000.pth"
    bad.write_bytes(data)
    with pytest.raises(RuntimeError, match="does not start with 00000000"):
        vision._verify_hash_prefix(bad)
    with pytest.raises(FileNotFoundError, match="efficientnet-lite0"):
        vision._standin_state_dict(tmp_path / vision.STANDIN_FILE)


# The model and Grad-CAM -------------------------------------------------------------------

@pytest.mark.parametrize("backbone, channels", [("resnet18", 512), ("efficientnet_lite0", 1280)])
def test_transfer_net_shapes_and_freezing(backbone, channels):
    model = tiny_model(backbone)
    x = torch.randn(2, 3, 64, 64)
    model.eval()
    assert model(x).shape == (2, 3) and model.embed(x).shape == (2, channels)
    head = channels * 3 + 3
    assert model.set_trainable("head") == head
    last = model.set_trainable("last")
    total = model.set_trainable("all")
    assert head < last < total == sum(p.numel() for p in model.parameters())
    model.set_trainable("last")
    model.train()
    bns = [m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    frozen = [m for m in bns if not m.weight.requires_grad]
    assert frozen and all(not m.training for m in frozen)  # ImageNet statistics kept
    assert all(m.training for m in bns if m.weight.requires_grad)
    with pytest.raises(ValueError, match="stage must be"):
        model.set_trainable("some")


def test_transfer_net_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown backbone"):
        vision.TransferNet("alexnet", 2, pretrained=False)
    with pytest.raises(ValueError, match="num_classes"):
        vision.TransferNet("resnet18", 1, pretrained=False)


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_lite0"])
def test_grad_cam_shapes_and_range(backbone):
    model = tiny_model(backbone)
    x = torch.randn(3, 3, 64, 48)
    cam, logits = vision.grad_cam(model, x)
    assert cam.shape == (3, 64, 48) and logits.shape == (3, 3)
    assert cam.min() >= 0 and cam.max() <= 1
    cam2, _ = vision.grad_cam(model, x, target=[0, 1, 2])
    assert cam2.shape == cam.shape
    with pytest.raises(ValueError, match="2 entries for 3 images"):
        vision.grad_cam(model, x, target=[0, 1])


def test_grad_cam_by_hand_on_an_identity_backbone():
    # With the image itself as the feature maps and a linear head w, the gradient of the class
    # score with respect to map c is w_c / (H W) everywhere, so the CAM is relu(sum_c w_c x_c),
    # min-max scaled.
    model = tiny_model(num_classes=2)
    model.backbone = nn.Identity()
    model.head = nn.Sequential(nn.Dropout(0.0), nn.Linear(3, 2))
    with torch.no_grad():
        model.head[1].weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 0.0]]))
        model.head[1].bias.zero_()
    x = torch.randn(1, 3, 5, 4)
    cam, _ = vision.grad_cam(model, x, target=[0])
    raw = torch.relu(x[0, 0] - 2 * x[0, 1] + 0.5 * x[0, 2])
    assert cam[0] == pytest.approx((raw - raw.min()) / (raw.max() - raw.min()), abs=1e-5)


def test_overlay_blends_a_heatmap_onto_an_image():
    image = np.zeros((6, 8, 3))
    out = vision.overlay(image, np.ones((6, 8)), alpha=1.0)
    assert out.size == (8, 6) and out.getpixel((0, 0)) == (128, 0, 0)  # jet's top is dark red
    with pytest.raises(ValueError, match="heatmap"):
        vision.overlay(image, np.ones((3, 3)))


# Training helpers --------------------------------------------------------------------------

def test_train_head_learns_separable_features_and_is_repeatable():
    model = tiny_model(num_classes=2)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(64) % 2
    x = torch.randn(64, 512, generator=g) + 3.0 * y[:, None].float()
    first = vision.train_head(model, x, y, x, y, num_epochs=20, lr=1e-2, seed=1, progress=False)
    assert first.history["val_accuracy"].iloc[-1] == 1.0
    weights = model.head[1].weight.clone()
    vision.train_head(model, x, y, x, y, num_epochs=20, lr=1e-2, seed=1, progress=False)
    assert torch.allclose(weights, model.head[1].weight)  # the head is re-initialised from the seed


def test_mean_and_spread_by_hand():
    s = vision.mean_and_spread([0.9, 0.95, 1.0])
    assert s["mean"] == pytest.approx(0.95) and s["std"] == pytest.approx(0.05)
    assert (s["min"], s["max"], s["values"]) == (0.9, 1.0, [0.9, 0.95, 1.0])
    assert vision.mean_and_spread([0.5])["std"] == 0.0


# The component -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    vision.make_shapes_dataset(root, n_train=6, n_val=3, size=40)
    pre = vision.Preprocessing.for_backbone("resnet18", crop=32)
    train = vision.read_image_folder(root / "train", pre.resize)
    model = tiny_model()
    vision.fine_tune(model, vision.ImageDataset(train, pre.train_transform()), stage="all", num_epochs=1,
                     lr=1e-3, batch_size=6, progress=False)
    art = vision.save_classifier(tmp_path_factory.mktemp("art") / "Day2", model, train.class_names, pre,
                                 metrics={"accuracy": 0.5}, data="shapes")
    return model, pre, train, art, root


def test_save_and_load_give_the_same_predictions(saved):
    model, pre, train, art, root = saved
    clf = vision.ImageClassifier.load(art, device="cpu")
    assert clf.class_names == ["circle", "square", "triangle"] and clf.preprocessing == pre
    assert clf.metrics == {"accuracy": 0.5}
    probs, _ = vision.predict_proba(model, vision.ImageDataset(train, pre.eval_transform()))
    paths = [root / "train" / p for p in train.paths]
    assert clf.predict_proba(paths) == pytest.approx(probs, abs=1e-5)
    assert clf.predict_proba(train.images[0]) == pytest.approx(probs[0], abs=1e-5)


def test_predict_returns_top_k_labels_with_probabilities(saved):
    clf = vision.ImageClassifier.load(saved[3], device="cpu", batch_size=4)
    images = saved[2].images[:5]
    one = clf.predict(images[0], top_k=2)
    assert isinstance(one, dict) and len(one) == 2
    values = list(one.values())
    assert values == sorted(values, reverse=True) and 0 <= values[1] <= values[0] <= 1
    full = clf.predict(images[0], top_k=10)
    assert len(full) == 3 and sum(full.values()) == pytest.approx(1.0)
    many = clf.predict(images)  # batched internally over 2 batches
    assert len(many) == 5 and list(many[0]) == list(clf.predict(images[0]))
    assert list(many[0].values()) == pytest.approx(list(clf.predict(images[0]).values()), abs=1e-6)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="top_k"):
            clf.predict(images[0], top_k=bad)
    with pytest.raises(ValueError, match="no images"):
        clf.predict([])


def test_the_classifier_rejects_bad_inputs_with_value_errors(saved, tmp_path):
    clf = vision.ImageClassifier.load(saved[3], device="cpu")
    (tmp_path / "empty.png").write_bytes(b"")
    for bad in (tmp_path / "missing.png", tmp_path / "empty.png", b"not an image", 3.14, ["x.png"]):
        with pytest.raises(ValueError):
            clf.predict(bad)
    with pytest.raises(ValueError, match="one image"):
        clf.explain([saved[2].images[0]])
    with pytest.raises(ValueError, match="unknown class"):
        clf.explain(saved[2].images[0], target="hexagon")


def test_explain_gives_an_overlay_the_size_of_the_crop(saved):
    clf = vision.ImageClassifier.load(saved[3], device="cpu")
    grey = Image.new("L", (50, 70), 100)
    e = clf.explain(grey)
    assert e.label in clf.class_names and 0 <= e.probability <= 1
    assert e.overlay.size == (32, 32) and e.heatmap.shape == (32, 32) and e.image.shape == (32, 32, 3)
    assert clf.explain(grey, target="square").label == "square"


def test_flip_averaged_proba_is_the_mean_of_the_two_views_by_hand():
    logits = np.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # softmax: (1/2, 1/2) and (3/4, 1/4)
    flipped = np.array([[np.log(3.0), 0.0], [0.0, 0.0]])  # (3/4, 1/4) and (1/2, 1/2)
    assert vision.flip_averaged_proba(logits, flipped) == pytest.approx(np.array([[0.625, 0.375]] * 2))
    assert vision.flip_averaged_proba(torch.tensor(logits), torch.tensor(flipped)).sum(1) == pytest.approx([1, 1])
    with pytest.raises(ValueError, match="differ in shape"):
        vision.flip_averaged_proba(logits, flipped[:1])


def test_test_time_flip_travels_in_the_artifact_and_averages_the_mirror_view(saved, tmp_path):
    model, pre, train, art, _ = saved
    plain = vision.ImageClassifier.load(art, device="cpu")
    assert plain.test_time_flip is False  # saved without it
    flip_art = vision.save_classifier(tmp_path / "flip", model, train.class_names, pre, test_time_flip=True)
    clf = vision.ImageClassifier.load(flip_art, device="cpu", batch_size=4)
    assert clf.test_time_flip is True and "test_time_flip=True" in repr(clf)
    assert vision.ImageClassifier.load(flip_art, device="cpu", test_time_flip=False).test_time_flip is False
    images = train.images[:6]
    x = torch.stack([pre.eval_transform()(im) for im in images])
    assert torch.equal(torch.stack([pre.mirror_transform()(im) for im in images]), x.flip(-1))
    with torch.no_grad():
        expected = vision.flip_averaged_proba(model.eval()(x), model(x.flip(-1)))
    assert clf.predict_proba(images) == pytest.approx(expected, abs=1e-5)
    assert np.abs(clf.predict_proba(images) - plain.predict_proba(images)).max() > 1e-4  # the flip did something
    # a mirror image gets the same probabilities: the two views are the same pair, swapped (with an even
    # crop margin, so that the centre crop of the mirror image is the mirror of the centre crop)
    even = vision.ImageClassifier(model, train.class_names, vision.Preprocessing(resize=36, crop=32), device="cpu",
                                  test_time_flip=True)
    square = images[0].resize((40, 40))
    mirror = square.transpose(Image.FLIP_LEFT_RIGHT)
    assert even.predict_proba(mirror) == pytest.approx(even.predict_proba(square), abs=1e-5)
    assert np.abs(plain.predict_proba(mirror) - plain.predict_proba(square)).max() > 1e-4  # not so without the flip
    e = clf.explain(images[0])  # the explanation's label and probability are predict's
    assert e.probability == pytest.approx(max(clf.predict_proba(images[0])), abs=1e-5)
    assert e.label == clf.class_names[int(np.argmax(clf.predict_proba(images[0])))]
    predicted = clf.predict(images[0], top_k=3)
    assert list(e.probabilities) == list(predicted)  # every class, best first, as predict gives them
    assert list(e.probabilities.values()) == pytest.approx(list(predicted.values()), abs=1e-5)
    assert vision.grad_cam(model, x[:1], [0])[0] == pytest.approx(
        vision.grad_cam_from_maps(model, model.feature_maps(x[:1]), (32, 32), [0])[0], abs=1e-6)


def test_load_rejects_a_foreign_artifact(saved, tmp_path):
    from applied_mlx.artifacts import save_artifact

    other = save_artifact(tmp_path / "x", component="recommender", config={}, model=nn.Linear(2, 2))
    with pytest.raises(ArtifactError, match="not 'image_classifier'"):
        vision.ImageClassifier.load(other)
    with pytest.raises(ValueError, match="class names"):
        vision.save_classifier(tmp_path / "y", saved[0], ["a", "b"], saved[1])


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_lite0"])
def test_stem_then_top_is_the_backbone(backbone):
    model = tiny_model(backbone).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.top(model.stem(x)), model.feature_maps(x), atol=1e-5)
        stems = vision.Embedder(model, "stem")(x)
        assert torch.allclose(vision.Embedder(model, "top")(stems), model(x), atol=1e-5)
        assert torch.allclose(vision.Embedder(model, "top_embed")(stems), model.embed(x), atol=1e-5)
    with pytest.raises(ValueError, match="part must be"):
        vision.Embedder(model, "middle")


def test_extract_features_takes_a_tensor_of_cached_stems():
    model = tiny_model().eval()
    x = torch.randn(5, 3, 64, 64)
    with torch.no_grad():
        stems = vision.Embedder(model, "stem")(x)
        logits, labels = vision.extract_features(model, stems, part="top", batch_size=2, progress=False)
        assert torch.allclose(logits, model(x), atol=1e-5) and labels.tolist() == [0] * 5
        features, _ = vision.extract_features(model, stems, part="top_embed", progress=False)
        assert torch.allclose(features, model.embed(x), atol=1e-5)


def test_fine_tune_last_block_changes_only_the_last_block_and_the_head():
    model = tiny_model(num_classes=2)
    data = vision.ImageDataset(vision.ImageSet(
        images=[Image.fromarray(np.full((40, 40, 3), v, np.uint8)) for v in (0, 40, 200, 250)] * 2,
        labels=np.array([0, 0, 1, 1] * 2), class_names=["dark", "light"]),
        vision.Preprocessing(40, 32).eval_transform())
    stems, labels = vision.extract_features(model, data, part="stem", progress=False)
    assert stems.shape == (8, 256, 2, 2)  # resnet18's layer3 output at 32 px
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = vision.fine_tune_last_block(model, stems, labels, stems, labels, num_epochs=2, lr=1e-3,
                                         batch_size=4, progress=False)
    assert len(result.history) == 2 and "val_accuracy" in result.history
    after = model.state_dict()
    changed = {k.split(".")[1] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"layer4", "1"}  # backbone.layer4.* and head.1.*
    assert model.set_trainable("head") == 512 * 2 + 2  # refrozen afterwards


# The component contract --------------------------------------------------------------------



def test_the_classifier_is_a_component_and_saves_itself(saved, tmp_path):
    model, pre, train, art, _ = saved
    clf = vision.ImageClassifier.load(art, device="cpu")
    assert isinstance(clf, Component) and vision.ImageClassifier.COMPONENT == "image_classifier"
    config = json.loads((art / "config.json").read_text())
    # the model keeps the arguments it was built with, and those are what config.json holds
    assert model.config == vision.TransferNetConfig("resnet18", 3, 0.2)
    assert config["model_args"] == as_dict(model.config) == {"backbone": "resnet18", "num_classes": 3, "dropout": 0.2}
    assert vision.TransferNet.from_config(model.config).config == model.config
    again = vision.ImageClassifier.load(clf.save(tmp_path / "again", data="shapes"), device="cpu")
    assert again.metrics == {"accuracy": 0.5} and again.preprocessing == pre
    images = train.images[:4]
    assert again.predict_proba(images) == pytest.approx(clf.predict_proba(images), abs=1e-6)
    with pytest.raises(ValueError, match="may not set model_args: save_classifier writes those itself"):
        clf.save(tmp_path / "clash", model_args={"backbone": "vgg"})


@pytest.mark.parametrize("dotted, value, message", [
    ("model_args", [1], r"config.json: the field 'model_args' must be dict"),
    ("model_args", DROP, r"config.json lacks the field 'model_args'"),
    ("model_args.num_classes", "3", r"config.json: field model_args\.num_classes must be a whole number"),
    ("model_args.backbone", "vgg", "unknown backbone 'vgg'"),
    ("model_args.dropout", 1.5, r"dropout must lie in \[0, 1\)"),
    ("model_args.depth", 3, "unknown field.*'depth'"),
    ("model_class", "ResNet", "'model_class' must be 'TransferNet'"),
    ("class_names", ["circle", "square"], "holds 2 names for a model of 3 classes"),
    ("class_names", [1, 2, 3], "must be distinct non-empty strings"),
    ("class_names", "circle", "'class_names' must be list"),
    ("model_args.backbone", DROP, "lacks the field 'backbone'"),
    ("preprocessing.resize", DROP, "'preprocessing' lacks 'resize'"),
    ("preprocessing.mean", [0.5, "x", 0.5], r"mean\[1\] must be a number"),
    ("preprocessing.resize", 10**9, "resize must be at most 1024"),
    ("preprocessing", None, "'preprocessing' must be dict"),
    ("test_time_flip", "yes", "'test_time_flip' must be bool"),
])
def test_every_fault_in_config_json_is_an_artifact_error_naming_the_field(saved, tmp_path, dotted, value, message):
    folder = edited_copy(saved[3], tmp_path / "art", dotted, value)
    with pytest.raises(ArtifactError, match=message):
        vision.ImageClassifier.load(folder, device="cpu")


def test_a_huge_size_in_config_json_fails_fast_without_allocating(saved, tmp_path):
    # 20 million classes would be a 41 GB head: refused before any of it is allocated
    folder = edited_copy(saved[3], tmp_path / "art", "model_args.num_classes", 20_000_000)
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(ArtifactError, match="for a model of 20000000 classes"):
        vision.ImageClassifier.load(folder, device="cpu")
    assert time.perf_counter() - start < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB


def test_weights_of_another_shape_or_truncated_are_artifact_errors(saved, tmp_path):
    wider = edited_copy(saved[3], tmp_path / "wider", "model_args.num_classes", 4)
    config = json.loads((wider / "config.json").read_text())
    (wider / "config.json").write_text(json.dumps({**config, "class_names": ["a", "b", "c", "d"]}))
    with pytest.raises(ArtifactError, match=r"head\.1\.weight: saved \(3, 512\), model \(4, 512\)"):
        vision.ImageClassifier.load(wider, device="cpu")
    cut = shutil.copytree(saved[3], tmp_path / "cut")
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(ArtifactError, match="model.safetensors is truncated"):
        vision.ImageClassifier.load(cut, device="cpu")


# Bounded work per image ---------------------------------------------------------------------

def strip_png(size):
    """A tiny PNG of a thin strip: a few dozen bytes that decode to a few kB."""
    data = png_bytes(Image.new("RGB", size, (90, 160, 30)))
    assert len(data) < 200
    return data


@pytest.mark.parametrize("size, ratio", [((5000, 1), "5000:1"), ((1, 20000), "20000:1")])
def test_a_thin_strip_is_refused_fast_before_it_is_blown_up(saved, tmp_path, size, ratio):
    # Resizing the shorter side to 256 would make the long one 1.28 or 5.12 million pixels (gigabytes)
    clf = vision.ImageClassifier.load(saved[3], device="cpu")
    data = strip_png(size)
    (tmp_path / "strip.png").write_bytes(data)
    standard = vision.Preprocessing.for_backbone("resnet18").eval_transform()
    calls = [lambda: clf.predict(data), lambda: clf.predict_proba([tmp_path / "strip.png"]),
             lambda: clf.explain(str(tmp_path / "strip.png")), lambda: standard(vision.load_rgb(data))]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for call in calls:
        start = time.perf_counter()
        with pytest.raises(ValueError, match=f"{size[0]} x {size[1]} pixels, an aspect ratio of {ratio}; "
                                             r"accepted: at most 20:1"):
            call()
        assert time.perf_counter() - start < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB


def test_an_aspect_ratio_of_20_is_still_classified_and_a_strip_in_a_folder_is_named(saved, tmp_path):
    clf = vision.ImageClassifier.load(saved[3], device="cpu")
    assert sum(clf.predict(Image.new("RGB", (400, 20), (0, 0, 255)), top_k=3).values()) == pytest.approx(1.0)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "strip.png").write_bytes(strip_png((5000, 1)))
    with pytest.raises(ValueError, match=r"strip\.png: the image is 5000 x 1 pixels"):
        vision.read_image_folder(tmp_path, resize=64)


@pytest.mark.parametrize("array, message", [
    (np.full((8, 8, 3), np.nan), "finite numbers, but this one holds NaN or infinite"),
    (np.full((8, 8), np.inf), "finite numbers, but this one holds NaN or infinite"),
    (np.full((8, 8, 3), -np.inf, np.float32), "finite numbers"),
    (np.full((8, 8, 3), 0.5 + 0.5j), "real numbers .* got dtype complex128"),
    (np.full((8, 8), True), "real numbers .* got dtype bool"),
    (np.full((8, 8, 3), -3, np.int64), "must lie in 0-255 .* got -3 to -3"),
    (np.full((8, 8, 3), 4000, np.uint16), "must lie in 0-255 .* got 4000 to 4000"),
    (np.full((8, 8, 3), 300.0), "must lie in 0-255"),
])
def test_arrays_that_are_not_pixel_values_are_refused(saved, array, message):
    with pytest.raises(ValueError, match=message):
        vision.load_rgb(array)
    with pytest.raises(ValueError, match="0-255"):
        vision.ImageClassifier.load(saved[3], device="cpu").predict(array)


def test_pixel_values_in_either_range_are_accepted():
    assert vision.load_rgb(np.full((4, 4, 3), 0.5, np.float32)).getpixel((0, 0)) == (128, 128, 128)
    assert vision.load_rgb(np.full((4, 4, 3), 200.0)).getpixel((0, 0)) == (200, 200, 200)
    assert vision.load_rgb(np.full((4, 4), 7, np.int32)).getpixel((0, 0)) == (7, 7, 7)


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_an_empty_path_says_no_image_was_given(saved, blank):
    with pytest.raises(ValueError, match="no image given: the path is an empty string"):
        vision.load_rgb(blank)
    with pytest.raises(ValueError, match="no image given"):
        vision.ImageClassifier.load(saved[3], device="cpu").predict(blank)


# Settings ----------------------------------------------------------------------------------

def test_settings_resolve_the_backbone_and_crop_per_profile(tmp_path, monkeypatch):
    smoke = vision.settings("smoke")
    assert (smoke["backbone"], smoke["pretrained"], smoke["crop"]) == ("resnet18", False, 64)
    smoke["all_seeds"].append(9)  # a copy: the profile itself is unchanged
    assert vision.settings("smoke")["all_seeds"] == [0]
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    quick = vision.settings("quick")
    assert (quick["backbone"], quick["crop"]) == ("resnet18", None)  # the weights' own 224
    (folder / vision.STANDIN_FILE).write_bytes(b"x")
    full = vision.settings("full")
    assert (full["backbone"], full["crop"], full["all_seeds"]) == ("efficientnet_lite0", 320, [0, 1, 2])
    assert vision.Preprocessing.for_backbone(full["backbone"], crop=full["crop"]).crop == 320
    with pytest.raises(ValueError, match="unknown profile 'fast'; use one of smoke, quick, full"):
        vision.settings("fast")
    # a backbone asked for by name wins over the machine's default, with its own chosen crop
    assert vision.settings("quick", "efficientnet_lite0")["crop"] == 320
    assert vision.settings("full", "resnet18")["crop"] is None
    assert vision.settings("smoke", "efficientnet_lite0")["backbone"] == "efficientnet_lite0"
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        vision.settings("quick", "vgg")


@pytest.mark.parametrize("backbone, last", [("resnet18", "fc"), ("efficientnet_lite0", "_fc")])
def test_transfer_model_freezes_everything_but_a_new_last_layer(backbone, last):
    torch.manual_seed(0)
    model = vision.transfer_model(backbone, num_classes=3, pretrained=False)
    layer = getattr(model, last)
    assert isinstance(layer, nn.Linear) and layer.out_features == 3
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 2 and all(any(p is q for q in layer.parameters()) for p in trainable)
    assert model.eval()(torch.randn(2, 3, 64, 64)).shape == (2, 3)
    # TransferNet is the same network split at its last feature maps: same seed, same outputs
    torch.manual_seed(0)
    net = vision.TransferNet(backbone, 3, pretrained=False).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(net(x), model(x), atol=1e-5)
    with pytest.raises(ValueError, match="unknown backbone"):
        vision.transfer_model("alexnet", 2, pretrained=False)
