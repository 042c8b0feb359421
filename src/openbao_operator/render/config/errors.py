"""The one error the config renderer raises: what cannot be rendered, and which spec field says so.

Why a domain error: the controller turns it into a condition and the CLI into one line, and both must
name the manifest field (``spec.unseal.kmsPlugin``), not a Python attribute or an HCL path.
"""

from __future__ import annotations


class ConfigRenderError(ValueError):
    """A valid manifest that cannot become a working config.hcl for its ``spec.version`` of OpenBao.

    ``field`` is the JSON path in the manifest (``spec.configuration.plugin.autoDownload``);
    ``reason`` says what is wrong and what to do.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
