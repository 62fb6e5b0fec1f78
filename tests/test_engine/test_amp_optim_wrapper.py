import torch

from smplestx.engine import DeviceAmpOptimWrapper


def _model_and_wrapper(**kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 1))
    wrapper = DeviceAmpOptimWrapper(optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                                    **kwargs)
    return model, wrapper


def test_bf16_autocast_on_cpu_trains_without_nans():
    model, wrapper = _model_and_wrapper()
    assert wrapper.cast_dtype == torch.bfloat16 and wrapper.loss_scaler is None
    x, y = torch.randn(32, 8), torch.randn(32, 1)
    losses = []
    for _ in range(30):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype == torch.bfloat16  # autocast is really on
            loss = (out.float() - y).pow(2).mean()
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


def test_state_dict_roundtrip():
    model, wrapper = _model_and_wrapper()
    with wrapper.optim_context(model):
        loss = model(torch.randn(4, 8)).float().mean()
    wrapper.update_params(loss)
    state = wrapper.state_dict()
    _, other = _model_and_wrapper()
    other.load_state_dict(state)
    assert other.state_dict()['param_groups'] == state['param_groups']
