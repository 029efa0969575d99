"""satqkd.protocol: the live two-party key distillation (SPEC §6–7).

The two actors, which share nothing but bytes: :mod:`.satellite` and :mod:`.ground`.
What crosses between them: :mod:`.messages` (typed, versioned), :mod:`.wire` (the byte
format), :mod:`.endpoint` (frames, CRC, repetition until acknowledged, exactly-once
delivery, authentication). The link between them: :mod:`.link` (the optical channel
model: light time, rate, frame loss, faults), :mod:`.transport` (in-memory or UDP, real
time), :mod:`.attacks` (an active attacker, for tests). How they are run:
:mod:`.session` (one process, simulated time), :mod:`.driver` (one actor, real time),
:mod:`.process` (one actor per OS process) and :mod:`.two_process` (both, launched and
compared), from each party's own starting data (:mod:`.parties`); :mod:`.run` chains the
pass simulation and the session (``satqkd pass``).
"""
