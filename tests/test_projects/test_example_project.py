import pytest
import torch
from project_utils import build_model, project_config

from smplestx.models.estimators import SMPLestX
from smplestx.testing.official_io import official_crops, official_train_samples

CONFIG = 'example_project/configs/example-head_vit-tiny_1xb2-40it_synthetic-256x192.py'


@pytest.fixture(scope='module')
def cfg(body_models_env):
    return project_config(CONFIG, body_models_env)


def loaded(cfg, official_tiny_path, **head_overrides):
    cfg = cfg.copy()
    cfg.model = cfg.model.copy()
    cfg.model.head = dict(cfg.model.head, **head_overrides)
    model = build_model(cfg)
    ckpt = torch.load(official_tiny_path / 'snapshot_0.pth.tar', weights_only=True)
    model.load_state_dict(ckpt, strict=True)  # no new parameters: nothing missing
    return model.train()


def test_config_builds_through_the_registry(cfg):
    from projects.example_project.example_project import ExampleSMPLXHead
    assert cfg.custom_imports.imports == ['projects.example_project.example_project']
    model = build_model(cfg)
    assert type(model) is SMPLestX and type(model.head) is ExampleSMPLXHead
    assert model.head.loss_weights == {'loss_joint_proj': 2.0}
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert '_delete_' not in cfg.pretty_text


def test_loss_weights_scale_only_the_named_term(cfg, official_tiny_path, official_io):
    example = loaded(cfg, official_tiny_path)
    plain = loaded(cfg, official_tiny_path, loss_weights=None)
    data = dict(inputs=official_crops(official_io),
                data_samples=official_train_samples(official_io))
    weighted = example(**example.data_preprocessor(data, True), mode='loss')
    base = plain(**plain.data_preprocessor(data, True), mode='loss')
    assert set(weighted) == set(base)
    for key, value in base.items():
        factor = 2.0 if key == 'loss_joint_proj' else 1.0
        torch.testing.assert_close(weighted[key], factor * value, rtol=1e-6, atol=0)


def test_unknown_loss_name_is_reported(cfg, official_tiny_path, official_io):
    model = loaded(cfg, official_tiny_path, loss_weights=dict(loss_typo=1.0))
    data = model.data_preprocessor(dict(inputs=official_crops(official_io),
                                        data_samples=official_train_samples(official_io)), True)
    with pytest.raises(KeyError, match=r"unknown loss terms \['loss_typo'\]"):
        model(**data, mode='loss')
