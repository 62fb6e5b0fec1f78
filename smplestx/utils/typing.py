"""Type aliases used across smplestx signatures."""

from typing import Dict, List, Optional, Union

import torch
from mmengine.config import ConfigDict

from smplestx.structures import SMPLXDataSample

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]
SampleList = List[SMPLXDataSample]
OptSampleList = Optional[SampleList]
TensorDict = Dict[str, torch.Tensor]
ForwardResults = Union[TensorDict, SampleList, torch.Tensor]
