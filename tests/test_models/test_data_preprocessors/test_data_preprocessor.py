import pytest
import torch

from smplestx.models.data_preprocessors import SMPLXDataPreprocessor
from smplestx.registry import MODELS
from smplestx.structures import SMPLXDataSample
from smplestx.testing.official_io import official_crops


def test_uint8_crops_give_the_official_network_input(official_io):
    img = official_io['inputs/img']
    crops = official_crops(official_io)
    pre = MODELS.build(dict(type='SMPLXDataPreprocessor'))
    out = pre(dict(inputs=crops, data_samples=[SMPLXDataSample(), SMPLXDataSample()]))
    assert out['inputs'].dtype == torch.float32
    assert out['inputs'].shape == (2, 3, 256, 192)
    expected = torch.nn.functional.interpolate(torch.from_numpy(img), (256, 192))
    assert torch.equal(out['inputs'], expected)
    assert len(out['data_samples']) == 2


def test_float_crops_and_stacked_tensor():
    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (2, 3, 512, 384), dtype=torch.uint8)
    pre = SMPLXDataPreprocessor()
    from_uint8 = pre(dict(inputs=list(pixels)))['inputs']
    from_float = pre(dict(inputs=pixels.float()))['inputs']
    assert torch.equal(from_uint8, from_float)
    assert torch.equal(from_uint8, pixels[..., ::2, ::2].float() / 255)
    assert pre.output_shape() == (256, 192)


def test_bad_inputs():
    pre = SMPLXDataPreprocessor()
    with pytest.raises(ValueError, match=r'expects RGB crops \(3, 512, 384\)'):
        pre(dict(inputs=[torch.zeros(3, 256, 192, dtype=torch.uint8)]))
    with pytest.raises(TypeError, match='uint8 or float32'):
        pre(dict(inputs=[torch.zeros(3, 512, 384, dtype=torch.float64)]))
    with pytest.raises(ValueError, match='divisible'):
        SMPLXDataPreprocessor(input_shape=(511, 384))
