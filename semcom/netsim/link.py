"""Discrete-event model of one semantic link: numpy for the bits, simpy for the timing.

:func:`simulate_link` works in three stages:

1. **Batched numerics.** Digits are grouped into packets (header + payload + CRC).
   Every packet is sent through the channel ``attempts_per_packet`` times *in one
   channel call* on a stacked array, whether or not the simulation will use all
   those attempts, and every copy's CRC is checked at once. Each copy gets a status:
   OK (no erased bit, CRC passes), CRC failure (no erased bit, CRC fails) or LOST
   (at least one erased bit).
2. **Event simulation.** simpy decides only *when* things happen: digit arrivals,
   the transmitter queue, serialization, propagation, ACK/NAK feedback, timers and
   retransmissions. Attempt ``k`` of packet ``p`` simply looks up its pre-drawn
   status.
3. **Batched read-out.** Arrival times per (packet, attempt) are turned into
   per-digit bits, erasures, latencies and flags with numpy.

Modelling assumptions (the contract of this module)
---------------------------------------------------
- *Packets.* Packet ``p`` carries digits ``p*d .. p*d+d-1`` (``d =
  digits_per_packet``), the last packet possibly fewer. Its bits are ``header_bits``
  (the sequence number ``p`` mod ``2**header_bits``, MSB first), then the digits'
  payload bits back to back, then the CRC computed over header + payload. The channel
  acts on the whole packet; the receiver recomputes the CRC over the received header
  + payload and compares it with the received CRC bits, so corrupted header or CRC
  bits fail the check like any other corruption. A packet is ready for transmission
  when its last digit is generated.
- *Channel draw layout.* The channel is called on an array of shape
  ``(attempts_per_packet * n_packets, packet_len)`` whose row ``a * n_packets + p``
  is attempt ``a`` of packet ``p`` (attempt-major: all first attempts in packet
  order, then all second attempts, ...). A channel with memory (Gilbert-Elliott)
  therefore sees the first attempts back to back, as sent on a loss-free link, and
  retransmissions as a separate stretch of the same process. One row is one packet:
  use ``channels.PacketErasure(loss, packet_bits=None)`` for whole-packet loss. If
  the last packet is shorter, it is drawn in a second channel call of its own.
- *Packet PHY.* A channel with ``channel_uses(packet_bits)`` and
  ``transmit_packets(bits, rng)`` (see :func:`semcom.netsim.config.packet_phy`; e.g.
  ``channels.CodedLink``) is a physical layer, not a binary channel: the same stacked
  array goes to ``transmit_packets``, which cuts each packet into codewords of the
  code, sends them through the coded PHY and erases the bits of every codeword whose
  (PHY) CRC fails, so a packet with a failed codeword is LOST; one whose codewords all
  pass is checked by the packet CRC as over any channel (residual errors fail it).
- *Erasures.* A copy with any erased bit is unusable and treated as lost: the
  receiver sends no feedback for it.
- *Transmitter.* A single FIFO server: one packet at a time, each occupying the
  link for its airtime ``t_ser``: ``packet_bits / bit_rate`` s over a binary channel,
  ``channel.channel_uses(packet_bits) / symbol_rate`` s over a packet PHY (codewords x
  symbols per codeword for ``CodedLink``); its last bit reaches the receiver
  ``propagation_delay`` s after it has been sent. A packet (first attempt or
  retransmission) that could no longer arrive by its deadline if the link started
  sending it now (``now + t_ser + propagation_delay > deadline``) is not
  sent: under overload the sender drops hopeless packets instead of spending the link on
  them. A packet's deadline is the latest deadline of its digits,
  ``generation of its last digit + deadline``.
- *ARQ feedback.* The receiver answers every copy it receives: ACK if the CRC
  passes, NAK if it fails, nothing if the copy is lost. Feedback is sent
  ``ack_delay`` s after the copy's last bit arrives, travels back in
  ``propagation_delay`` s and is **never lost or corrupted**; it takes no
  transmitter time (a separate return channel). The retransmission timer starts
  when a transmission begins and fires ``timeout`` s later (default: one round trip,
  so with the default an ACK/NAK and the timer coincide and the ACK wins the tie).
  On a NAK or a timer expiry, whichever comes first, the packet is queued again at
  the back of the FIFO, unless it has used ``1 + max_retransmissions`` attempts or
  its deadline has passed, in which case the sender gives up on it. A late ACK
  still counts: it cancels a retransmission not yet started.
- *Stop-and-wait* is selective repeat with a window of 1: the next packet is
  admitted only when the current one is ACKed or given up.
- *Selective repeat:* at most ``window`` packets are unacknowledged at once
  (admitted and neither ACKed nor given up, queued ones included); each failed
  packet is retransmitted on its own.
- *No ARQ:* each packet is sent once, in order.
- *Receiver.* For each packet, the *accepted* copy is the first one that passes its
  CRC; with ``on_crc_failure="deliver"`` and no passing copy by a digit's deadline,
  the last CRC-failed copy that arrived by that deadline is handed over instead
  (unverified; ``delivered`` stays False). A digit's bits are handed over only if
  that copy arrived by the digit's deadline (``arrival <= generation + deadline``);
  otherwise they are erased. ``latency`` is measured to the copy handed over, else to
  the first passing copy (even a late one), else, in "deliver" mode, to the last
  CRC-failed copy, else it is inf.
- *Randomness.* Poisson gaps are drawn from ``rng`` first, then the channel draws;
  nothing else is random, so the same rng state gives the same outcome.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

import channels

from .config import LinkConfig, packet_phy
from .crc import crc_bits, crc_check
from .outcome import LinkOutcome

__all__ = ["simulate_link", "generation_times", "OK", "CRC_FAIL", "LOST"]

#: Status of one received copy.
OK, CRC_FAIL, LOST = 0, 1, 2


def generation_times(n: int, cfg: LinkConfig, rng: np.random.Generator) -> np.ndarray:
    """When each of ``n`` digits is generated: ``i / rate``, or a Poisson process from ``rng``."""
    if cfg.arrival == "periodic":
        return np.arange(n, dtype=float) / cfg.arrival_rate
    return np.cumsum(rng.exponential(1.0 / cfg.arrival_rate, size=n))


def _check_payload(payload_bits: object) -> np.ndarray:
    """The channels' own bit check (numpy array, integer/bool, only 0 and 1), then the (N, n_bits) shape."""
    bits = channels.check_bits("simulate_link: payload_bits", payload_bits)
    if bits.ndim != 2 or bits.shape[1] < 1:
        raise ValueError(
            f"simulate_link: payload_bits must have shape (N, n_bits) with n_bits >= 1, got {bits.shape}"
        )
    return np.ascontiguousarray(bits, dtype=np.uint8)


def _header(seq: np.ndarray, header_bits: int) -> np.ndarray:
    """Sequence numbers as ``header_bits`` MSB-first bits (modulo 2**header_bits)."""
    shifts = np.arange(header_bits - 1, -1, -1, dtype=np.int64)
    seq = seq.astype(np.int64)[:, None]
    out = (seq >> np.minimum(shifts, 62)[None, :]) & 1
    out[:, shifts >= 62] = 0
    return out.astype(np.uint8)


def _transmit_packets(tx: np.ndarray, channel, attempts: int, crc: str,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All attempts of the packets ``tx`` (n, L) in one channel call.

    Returns ``status`` (attempts, n) int8 and the received packets (attempts, n, L).
    """
    n, length = tx.shape
    stacked = np.tile(tx, (attempts, 1))  # row a*n + p = attempt a of packet p
    phy = packet_phy(channel)
    rx = channel(stacked, rng) if phy is None else phy.transmit_packets(stacked, rng)
    bits = np.asarray(rx.bits)
    erased = np.asarray(rx.erased, dtype=bool)
    if bits.shape != stacked.shape or erased.shape != stacked.shape:
        raise ValueError(
            f"simulate_link: the channel returned shape {bits.shape}/{erased.shape} "
            f"for input {stacked.shape}"
        )
    lost = erased.any(axis=1)
    passed = crc_check(bits.astype(np.uint8, copy=False), crc)
    status = np.where(lost, LOST, np.where(passed, OK, CRC_FAIL)).astype(np.int8)
    return status.reshape(attempts, n), bits.reshape(attempts, n, length)


def _run_no_arq(ready, pdeadline, tser, prop) -> np.ndarray:
    """Each packet sent once, in order; returns arrival times (n_packets, 1)."""
    n = ready.shape[0]
    arrival = np.full((n, 1), np.inf)
    env = simpy.Environment()

    def transmitter():
        for p in range(n):
            if ready[p] > env.now:
                yield env.timeout(ready[p] - env.now)
            if env.now + tser[p] + prop > pdeadline[p]:
                continue  # could not arrive in time: not sent
            start = env.now
            yield env.timeout(tser[p])
            arrival[p, 0] = start + tser[p] + prop

    env.process(transmitter())
    env.run()
    return arrival


def _run_arq(ready, pdeadline, tser, rtt, status, cfg: LinkConfig, timeout: float) -> np.ndarray:
    """Selective repeat (stop-and-wait = window 1); returns arrival times (n_packets, attempts)."""
    n = ready.shape[0]
    attempts = status.shape[0]
    prop = cfg.propagation_delay
    arrival = np.full((n, attempts), np.inf)
    done = np.zeros(n, dtype=bool)  # ACKed or given up: no more transmissions
    latest = np.full(n, -1, dtype=np.int64)  # latest attempt queued or sent
    env = simpy.Environment()
    window = simpy.Container(env, capacity=cfg.effective_window, init=cfg.effective_window)
    queue = simpy.Store(env)  # FIFO of (packet, attempt)

    def finish(p: int) -> None:
        if not done[p]:
            done[p] = True
            window.put(1)

    def on_ack(p: int) -> None:
        finish(p)

    def on_fail(p: int, k: int) -> None:
        """NAK or timer expiry for attempt k of p: retransmit or give up."""
        if done[p] or latest[p] != k:
            return
        if k + 1 < attempts and env.now + tser[p] + prop <= pdeadline[p]:
            latest[p] = k + 1
            queue.put((p, k + 1))
        else:
            finish(p)

    def later(delay: float, fn, *args) -> None:
        ev = env.timeout(max(delay, 0.0))
        ev.callbacks.append(lambda _ev: fn(*args))

    def admit():
        for p in range(n):
            if ready[p] > env.now:
                yield env.timeout(ready[p] - env.now)
            yield window.get(1)
            if env.now + tser[p] + prop > pdeadline[p]:
                finish(p)  # hopeless after waiting for the window: never sent
                continue
            latest[p] = 0
            queue.put((p, 0))

    def transmitter():
        while True:
            p, k = yield queue.get()
            if done[p]:
                continue  # ACKed meanwhile (late ACK of an earlier attempt)
            if env.now + tser[p] + prop > pdeadline[p]:
                finish(p)  # could not arrive by its deadline: not (re)transmitted, give up
                continue
            start = env.now
            # Feedback timing is fixed by the pre-drawn status; schedule it from the start.
            s = status[k, p]
            if s == OK:
                if rtt[p] <= timeout:
                    later(rtt[p], on_ack, p)
                else:  # the timer fires first: spurious retransmission, then the ACK
                    later(timeout, on_fail, p, k)
                    later(rtt[p], on_ack, p)
            elif s == CRC_FAIL:
                later(min(rtt[p], timeout), on_fail, p, k)
            else:
                later(timeout, on_fail, p, k)
            yield env.timeout(tser[p])
            arrival[p, k] = start + tser[p] + prop

    env.process(admit())
    env.process(transmitter())
    env.run()
    return arrival


def simulate_link(payload_bits: np.ndarray, channel, cfg: LinkConfig,
                  rng: np.random.Generator) -> LinkOutcome:
    """Send N digits' bitstreams over a packet link and report what arrives, and when.

    ``payload_bits`` is (N, n_bits) of 0/1, one row per digit in generation order;
    ``channel`` a :class:`channels.Channel` (anything called as ``channel(bits, rng)``
    returning ``.bits``/``.erased`` of the input's shape) or a packet PHY such as
    :class:`channels.CodedLink` (``channel_uses`` + ``transmit_packets``: coded packets,
    timed by ``cfg.symbol_rate``); ``rng`` the only source of randomness. See the module
    docstring for the exact semantics (packets, ARQ, feedback, deadlines, what the receiver
    hands over).
    """
    if not isinstance(cfg, LinkConfig):
        raise TypeError(f"simulate_link: cfg must be a LinkConfig, got {type(cfg).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"simulate_link: rng must be a numpy.random.Generator, got {type(rng).__name__}"
        )
    payload = _check_payload(payload_bits)
    n_digits, n_bits = payload.shape
    d = cfg.digits_per_packet
    attempts = cfg.attempts_per_packet
    n_packets = math.ceil(n_digits / d)

    generated = generation_times(n_digits, cfg, rng)
    digit_deadline = generated + cfg.deadline
    packet_of = np.arange(n_digits) // d
    slot_of = np.arange(n_digits) % d
    last_digit = np.minimum((np.arange(n_packets) + 1) * d, n_digits) - 1
    ready = generated[last_digit]
    pdeadline = digit_deadline[last_digit]
    digits_in = last_digit - np.arange(n_packets) * d + 1

    status, rx_payload = _send_packets(payload, channel, cfg, rng)
    tser = _airtime(cfg, channel, cfg.header_bits + digits_in * n_bits + cfg.crc_width)

    # event simulation: when does each attempt arrive?
    if n_packets == 0:
        arrival = np.full((0, attempts), np.inf)
    elif cfg.arq == "none":
        arrival = _run_no_arq(ready, pdeadline, tser, cfg.propagation_delay)
    else:
        rtt = tser + (2.0 * cfg.propagation_delay + cfg.ack_delay)
        arrival = _run_arq(ready, pdeadline, tser, rtt, status, cfg, cfg.effective_timeout(n_bits, channel))

    handed, src_a, arrived_t, delivered, sent = _hand_over(status, arrival, packet_of, digit_deadline, cfg)
    latency = arrived_t - generated
    by_slot = rx_payload.reshape(attempts, n_packets, d, n_bits)
    bits = by_slot[src_a, packet_of, slot_of]  # (N, n_bits)
    bits = np.where(handed[:, None], bits, 0).astype(np.uint8)
    erased = np.repeat(~handed[:, None], n_bits, axis=1)
    undetected = delivered & (bits != payload).any(axis=1)

    last_event = max(float(generated[-1]) if n_digits else 0.0,
                     float(arrival[sent].max()) if sent.any() else 0.0)
    return LinkOutcome(
        bits=bits,
        erased=erased,
        delivered=delivered,
        latency=latency,
        attempts=sent.sum(axis=1)[packet_of].astype(np.int64),
        undetected_errors=undetected,
        generated=generated,
        duration=last_event,
    )


def _send_packets(payload: np.ndarray, channel, cfg: LinkConfig,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Build every packet (header, digits, CRC) and put all its attempts through the channel at
    once, before any timing is known: the numerics are batched, the event simulation only
    decides which attempts are sent. Returns per (attempt, packet) the CRC status and the
    received payload bits."""
    n_digits, n_bits = payload.shape
    d, attempts = cfg.digits_per_packet, cfg.attempts_per_packet
    n_packets = math.ceil(n_digits / d)
    status = np.full((attempts, n_packets), LOST, dtype=np.int8)
    rx_payload = np.zeros((attempts, n_packets, d * n_bits), dtype=np.uint8)
    n_full = n_digits // d
    groups = [(0, n_full, d)]  # full packets, then the short last one
    if n_packets > n_full:
        groups.append((n_full, n_packets, n_digits - n_full * d))
    h = cfg.header_bits
    for lo, hi, dig in groups:
        if hi <= lo:
            continue
        body = payload[lo * d : lo * d + (hi - lo) * dig].reshape(hi - lo, dig * n_bits)
        head = _header(np.arange(lo, hi), h)
        data = np.concatenate([head, body], axis=1)
        tx = np.concatenate([data, crc_bits(data, cfg.crc)], axis=1)
        st, rx = _transmit_packets(tx, channel, attempts, cfg.crc, rng)
        status[:, lo:hi] = st
        rx_payload[:, lo:hi, : dig * n_bits] = rx[:, :, h : h + dig * n_bits]
    return status, rx_payload


def _airtime(cfg: LinkConfig, channel, packet_len: np.ndarray) -> np.ndarray:
    """Each packet's serialization time. Same arithmetic as LinkConfig.serialization_time /
    round_trip, so that a full packet's round trip equals the default timeout exactly (the
    ACK wins that tie); over a packet PHY, the coded packet's channel uses at the symbol rate."""
    phy = packet_phy(channel)
    if phy is None:
        return packet_len / cfg.bit_rate
    uses = {int(b): phy.channel_uses(int(b)) for b in np.unique(packet_len)}
    return np.array([uses[int(b)] for b in packet_len], dtype=float) / cfg.symbol_rate


def _hand_over(status: np.ndarray, arrival: np.ndarray, packet_of: np.ndarray, digit_deadline: np.ndarray,
               cfg: LinkConfig) -> tuple[np.ndarray, ...]:
    """What the receiver hands over per digit: the first verified copy in time, else (with
    ``on_crc_failure = "deliver"``) the latest failed copy in time. Returns per digit whether
    something is handed over, from which attempt, when it (or, if nothing, the last copy)
    arrived, and whether a verified copy came in time; and per packet which attempts were sent."""
    st = status.T  # (n_packets, attempts)
    sent = np.isfinite(arrival)
    ok = sent & (st == OK)
    failed = sent & (st == CRC_FAIL)
    ver_t = np.where(ok, arrival, np.inf).min(axis=1)
    ver_a = np.where(ok, arrival, np.inf).argmin(axis=1)

    arr_d = arrival[packet_of]  # (N, attempts)
    in_time_ver = np.isfinite(ver_t[packet_of]) & (ver_t[packet_of] <= digit_deadline)
    handed = in_time_ver.copy()
    src_a = ver_a[packet_of].copy()
    src_t = ver_t[packet_of].copy()
    late_t = src_t.copy()  # latency reference when nothing is handed over
    if cfg.on_crc_failure == "deliver":
        f_d = failed[packet_of]
        f_in = f_d & (arr_d <= digit_deadline[:, None])
        f_in_t = np.where(f_in, arr_d, -np.inf)
        use = ~in_time_ver & f_in.any(axis=1)
        handed |= use
        src_a = np.where(use, f_in_t.argmax(axis=1), src_a)
        src_t = np.where(use, f_in_t.max(axis=1), src_t)
        f_any_t = np.where(f_d, arr_d, -np.inf).max(axis=1)
        late_t = np.where(np.isfinite(late_t), late_t,
                          np.where(np.isfinite(f_any_t), f_any_t, np.inf))
    arrived_t = np.where(handed, src_t, late_t)
    return handed, src_a, arrived_t, in_time_ver, sent
