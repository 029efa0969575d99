"""The reliable endpoint: exactly-once delivery over loss, duplication, reordering and
corruption; repetition until acknowledged or superseded; forged messages never delivered."""

from __future__ import annotations

import heapq
import itertools

import numpy as np
import pytest

from satqkd.config.models import Protocol
from satqkd.protocol.auth import make_authenticators
from satqkd.protocol.endpoint import Endpoint, Received, parse_frame, seal_frame
from satqkd.protocol.link import LinkDirection
from satqkd.protocol.messages import Abandon, Detections, KeyAck, Message, PaConfirm

LIGHT_TIME_S = 2e-3


def endpoints(frame_bytes: int = 1024) -> tuple[Endpoint, Endpoint]:
    sat_auth, ground_auth, _ = make_authenticators(Protocol(), seed=3)
    return (Endpoint(0, sat_auth, frame_bytes=frame_bytes),
            Endpoint(1, ground_auth, frame_bytes=frame_bytes))


def link(loss: float = 0.0, **faults: float) -> LinkDirection:
    return LinkDirection(lambda t: LIGHT_TIME_S, lambda t: loss, **faults)  # type: ignore[arg-type]


def big_message(i: int, rng: np.random.Generator, n: int = 5000) -> Detections:
    """A message of ~20 kB: about 20 frames."""
    delta = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    packed = np.packbits(rng.integers(0, 2, size=n, dtype=np.uint8))
    return Detections(i, float(i), n, i, delta, packed, packed, packed[:10])


def exchange(
    a: Endpoint, b: Endpoint, ab: LinkDirection, ba: LinkDirection, rng: np.random.Generator,
    *, max_s: float = 60.0, step_s: float = 0.01,
) -> tuple[list[Received], list[Received], float]:
    """Move frames between ``a`` and ``b`` until neither has anything unacknowledged.

    Returns what ``b`` and ``a`` received (authentic or not) and the time it took (s).
    """
    order = itertools.count()
    events: list[tuple[float, int, str, bytes]] = []
    got_a: list[Received] = []
    got_b: list[Received] = []
    now = 0.0
    while now < max_s:
        for sender, direction, dest in ((a, ab, "b"), (b, ba, "a")):
            for frame in sender.outgoing(now):
                for t, data in direction.transmit(frame, now, rng):
                    heapq.heappush(events, (t, next(order), dest, data))
        now += step_s
        while events and events[0][0] <= now:
            _, _, dest, data = heapq.heappop(events)
            (got_b if dest == "b" else got_a).extend((b if dest == "b" else a).incoming(data))
        if a.pending() == 0 and b.pending() == 0 and not events:
            break
    return got_b, got_a, now


def same(x: Message, y: Message | None) -> bool:
    return y is not None and x.to_body() == y.to_body()


FAULTS = {
    "clean": {},
    "loss 30%": {"loss": 0.3},
    "loss 50%": {"loss": 0.5},
    "duplication 50%": {"duplicate_probability": 0.5},
    "reordering 50 ms": {"reorder_s": 0.05},
    "bit corruption 30%": {"corrupt_probability": 0.3},
    "everything": {"loss": 0.3, "duplicate_probability": 0.3, "reorder_s": 0.05,
                   "corrupt_probability": 0.2},
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_exactly_once_in_both_directions(faults: dict[str, float],
                                         rng: np.random.Generator) -> None:
    a, b = endpoints()
    down = [big_message(i, rng) for i in range(4)] + [PaConfirm(i, 1000 + i) for i in range(6)]
    up = [KeyAck(i, 1) for i in range(6)] + [big_message(10 + i, rng) for i in range(2)]
    seq_down = {a.send(m): m for m in down}
    seq_up = {b.send(m): m for m in up}
    got_b, got_a, _ = exchange(a, b, link(**faults), link(**faults), rng)
    for got, sent in ((got_b, seq_down), (got_a, seq_up)):
        assert all(r.authentic for r in got)
        assert sorted(r.seq for r in got) == sorted(sent)  # each exactly once
        assert all(same(sent[r.seq], r.message) for r in got)
    assert a.pending() == b.pending() == 0
    if faults.get("corrupt_probability"):
        assert a.stats.frames_corrupt + b.stats.frames_corrupt > 0
    if faults.get("duplicate_probability"):
        assert a.stats.duplicates + b.stats.duplicates > 0


def test_repeats_through_an_outage_backing_off_then_stops(rng: np.random.Generator) -> None:
    """Through a 3-s outage the message keeps being repeated, less and less often (never
    more than ``max_retransmit_s`` apart); it is delivered within one such interval of the
    link's return, and then nothing more is sent."""
    a, b = endpoints()
    seq = a.send(big_message(0, rng))
    n_frames = len(a.outgoing(0.0))  # the first transmission (lost in the outage)
    assert n_frames > 10
    outage_s = 3.0
    dark = link(outages=((0.0, outage_s),))  # type: ignore[arg-type]
    got_b, _, t_done = exchange(a, b, dark, link(), rng)
    assert [r.seq for r in got_b] == [seq]
    rounds = a.stats.frames_retransmitted / n_frames
    assert outage_s / a.max_retransmit_s <= rounds <= outage_s / a.max_retransmit_s + 6
    assert outage_s < t_done < outage_s + a.max_retransmit_s + 0.1
    assert a.outgoing(t_done + 10.0) == []
    assert a.next_deadline() is None


def test_repetition_stays_fast_while_the_peer_is_heard(rng: np.random.Generator) -> None:
    """Under 50 % loss the peer's acknowledgements keep coming: a stream of messages goes
    through in about the time constant repetition would take."""
    a, b = endpoints()
    for i in range(20):
        a.send(big_message(i, rng, n=1000))
    got_b, _, t_done = exchange(a, b, link(0.5), link(0.5), rng)
    assert len(got_b) == 20
    assert t_done < 40 * a.retransmit_s


def test_supersede_stops_repetition(rng: np.random.Generator) -> None:
    a, _ = endpoints()
    seq = a.send(PaConfirm(1, 2))
    assert len(a.outgoing(0.0)) == 1
    assert len(a.outgoing(1.0)) == 1  # repeated: no acknowledgement came
    a.supersede(seq)
    assert a.outgoing(2.0) == [] and a.pending() == 0


def test_duplicate_frames_are_delivered_once_and_acknowledged_again() -> None:
    a, b = endpoints()
    seq = a.send(Abandon(3, "test"))
    frames = a.outgoing(0.0)
    first = [r for f in frames for r in b.incoming(f)]
    again = [r for f in frames for r in b.incoming(f)]
    assert [r.seq for r in first] == [seq] and again == []
    assert b.stats.duplicates == 1
    acks = b.outgoing(0.0)
    assert len(acks) == 1
    for f in acks:
        a.incoming(f)
    assert a.pending() == 0


def test_corrupt_frames_are_dropped() -> None:
    a, b = endpoints()
    a.send(KeyAck(1, 1))
    (frame,) = a.outgoing(0.0)
    for i in range(8 * len(frame)):
        data = bytearray(frame)
        data[i // 8] ^= 1 << (i % 8)
        assert b.incoming(bytes(data)) == []
    assert b.stats.frames_corrupt == 8 * len(frame)
    assert b.incoming(frame[:10]) == []


def test_forged_message_is_reported_not_delivered_and_genuine_copy_still_is() -> None:
    a, b = endpoints()
    seq = a.send(PaConfirm(7, 123))
    (frame,) = a.outgoing(0.0)
    header, payload = parse_frame(frame)  # type: ignore[misc]
    forged = seal_frame(header.sender, header.seq, 0, 1, payload[:-1] + bytes([payload[-1] ^ 4]))
    (bad,) = b.incoming(forged)
    assert not bad.authentic and bad.message is None and bad.seq == seq
    assert b.outgoing(0.0) == []  # not acknowledged
    (good,) = b.incoming(frame)
    assert good.authentic and isinstance(good.message, PaConfirm) and good.message.crc32 == 123
    assert b.stats.auth_failures == 1


def test_message_with_another_sequence_number_fails_authentication() -> None:
    """The tag covers the sequence number: a replay under a new number is rejected."""
    a, b = endpoints()
    a.send(KeyAck(1, 1))
    (frame,) = a.outgoing(0.0)
    header, payload = parse_frame(frame)  # type: ignore[misc]
    env = bytearray(payload)
    env[8:12] = (header.seq + 5).to_bytes(4, "little")
    replay = seal_frame(header.sender, header.seq + 5, 0, 1, bytes(env))
    (rec,) = b.incoming(replay)
    assert not rec.authentic


def test_own_frames_are_ignored() -> None:
    a, _ = endpoints()
    a.send(KeyAck(1, 1))
    (frame,) = a.outgoing(0.0)
    assert a.incoming(frame) == []
