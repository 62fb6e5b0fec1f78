"""Make ``projects.*`` importable in these tests, as the tools do from the repository root."""

import sys

import pytest

from smplestx.testing.fixtures import REPO_ROOT
from smplestx.utils.body_model_files import BODY_MODELS_ENV

if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))


@pytest.fixture(scope='module')
def body_models_env(body_model_path):
    """Point ``$SMPLESTX_BODY_MODELS`` at the synthetic body model (metrics, targets)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BODY_MODELS_ENV, str(body_model_path))
        yield body_model_path
