"""Links that need no login but cannot be guessed: an HMAC of what they show, under a server secret.

Chat clients fetch chart images without our credentials, so the URL itself is the credential.
"""

from __future__ import annotations

import hashlib
import hmac


class LinkSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token(self, kind: str, subject: int) -> str:
        message = f"{kind}:{subject}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def verify(self, kind: str, subject: int, token: str) -> bool:
        return hmac.compare_digest(self.token(kind, subject).encode(), token.encode())

    def chart_path(self, incident_id: int) -> str:
        return f"/charts/{incident_id}-{self.token('chart', incident_id)}.png"
