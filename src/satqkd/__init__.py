"""satqkd: satellite-to-ground quantum key distribution.

Photon-level simulation of satellite QKD passes and the real post-processing
(sifting, decoy-state finite-key estimation, LDPC reconciliation, privacy
amplification, authentication) and key management that turn detections into keys.
"""

__version__ = "0.1.0"
