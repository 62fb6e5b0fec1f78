"""Keep the web demo off the network: no usage statistics, telemetry or hub look-ups.

Gradio sends usage statistics unless ``GRADIO_ANALYTICS_ENABLED`` is ``False``, and the
Hugging Face Hub client (used by Gradio, gradio_client and timm) sends telemetry and
fetches a registry unless it is told it is offline. The hub client reads its variables
when it is first imported, so :func:`set_offline_environment` must run before
``smplestx.apis``, timm or Gradio are imported (this module imports nothing heavy).
"""

import os

#: Environment of an offline web demo.
OFFLINE_ENVIRONMENT = {
    'GRADIO_ANALYTICS_ENABLED': 'False',
    'GRADIO_SSR_MODE': 'False',
    'GRADIO_MCP_SERVER': 'False',
    'HF_HUB_OFFLINE': '1',
    'HF_HUB_DISABLE_TELEMETRY': '1',
    'HF_HUB_DISABLE_UPDATE_CHECK': '1',
}


def set_offline_environment() -> None:
    """Set :data:`OFFLINE_ENVIRONMENT` in this process (before Gradio or timm is imported)."""
    os.environ.update(OFFLINE_ENVIRONMENT)
