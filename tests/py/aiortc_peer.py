#!/usr/bin/env python3
"""An independent WebRTC peer for the cvi-gateway meeting page's protocol, built on aiortc.

It behaves like meet/assets/meet.js: it opens the meeting's WebSocket, sends `join`, waits
for `joined`, sends ONE offer with its own tracks, applies the `answer`, then answers every
server `offer`; messages are handled one at a time, in order.

What it sends: a 640x360, 30 fps picture (dark grey, a solid BLUE rectangle moving left and
right) and a 440 Hz sine at 48 kHz. What it receives: every remote track, each attributed to
its participant by the msid stream id of its m-line (re-read on every server offer, since an
m-line may be given to someone else), counting decoded video frames (with their size) and
audio frames with their RMS over the last second.

stdout carries one JSON object per line: `{"type":"stats","t":...,"participants":{...},
"roster":[...],"lobby":[...],"state":{...},...}` once a second, and events (`joined`, `error`,
`bye`, `exit`). stderr is the log. stdin takes commands, one per line:
    admit <id> | reject <id> | recording on|off | transcription on|off |
    mute <audio:0|1> <video:0|1> | stats | quit
EOF on stdin is `quit`. The peer also ends by itself after --lifetime seconds.

ICE: aioice leaves 127.0.0.1 out of its host candidates (it only gathers the machine's other
interfaces). The gateway's one candidate is on 127.0.0.1, so by default this peer gathers
exactly 127.0.0.1 (`--ice-address`, repeatable; `--ice-address auto` keeps aioice's own list).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import logging
import math
import sys
import threading
import time
from array import array

try:
    import aioice.ice
    import av
    from aiortc import (
        MediaStreamTrack,
        RTCConfiguration,
        RTCIceServer,
        RTCPeerConnection,
        RTCSessionDescription,
    )
    from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
    import websockets
except ImportError as e:  # the test reads this line and fails naming the package
    print(
        f"aiortc_peer: missing Python package: {e.name} ({e}); "
        "install tests/PYTHON_PACKAGES with: python3 -m pip install -r tests/PYTHON_PACKAGES",
        file=sys.stderr,
    )
    sys.exit(3)

log = logging.getLogger("aiortc_peer")

WIDTH, HEIGHT, FPS = 640, 360, 30
SAMPLE_RATE = 48000
AUDIO_PTIME = 0.020

# BT.601 limited range: the background (R=G=B=40) and pure blue (0, 0, 255).
BG_YUV = (50, 128, 128)
BLUE_YUV = (41, 240, 110)


class DecodeErrors(logging.Filter):
    """Counts aiortc's "failed to decode" warnings (frames before the first keyframe, or
    corrupt ones) and lets the first few, then one in 50, through to the log."""

    count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "failed to decode" not in record.getMessage():
            return True
        DecodeErrors.count += 1
        return DecodeErrors.count <= 3 or DecodeErrors.count % 50 == 0


def emit(obj: dict) -> None:
    """One JSON line on stdout."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------ what we send
class BlueBoxTrack(VideoStreamTrack):
    """640x360 at 30 fps: dark grey, with a blue rectangle (60 % of the width, 70 % of the
    height) sliding left and right and back over two seconds: the picture always moves, and
    its middle (40-60 % of the width, 15-85 % of the height) is always blue."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width, self.height = width & ~1, height & ~1
        self.box_w = (self.width * 6 // 10) & ~1
        self.box_h = (self.height * 7 // 10) & ~1
        self.box_y = ((self.height - self.box_h) // 2) & ~1
        self.frames = 0

    def _plane(self, plane, value_bg: int, value_box: int, sub: int, x: int) -> None:
        w, h = self.width // sub, self.height // sub
        stride = plane.line_size
        bx, bw = x // sub, self.box_w // sub
        by, bh = self.box_y // sub, self.box_h // sub
        pad = bytes(stride - w)
        plain = bytes([value_bg]) * w + pad
        boxed = bytes([value_bg]) * bx + bytes([value_box]) * bw + bytes([value_bg]) * (w - bx - bw) + pad
        plane.update(plain * by + boxed * bh + plain * (h - by - bh))

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        # Triangle wave over 2 s: the box's left edge goes 0 → width - box_w → 0.
        span = self.width - self.box_w
        phase = (self.frames % (2 * FPS)) / FPS
        x = int(span * (phase if phase <= 1 else 2 - phase)) & ~1
        for i, (bg, box) in enumerate(zip(BG_YUV, BLUE_YUV)):
            self._plane(frame.planes[i], bg, box, 1 if i == 0 else 2, x)
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class SineTrack(AudioStreamTrack):
    """A 440 Hz sine, mono s16 at 48 kHz, 20 ms frames, paced in real time."""

    def __init__(self, freq: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__()
        n = SAMPLE_RATE  # one second; a whole number of periods for integer frequencies
        peak = int(32767 * amplitude)
        self.table = array("h", (int(peak * math.sin(2 * math.pi * freq * i / n)) for i in range(n)))
        self.samples = int(SAMPLE_RATE * AUDIO_PTIME)
        self.timestamp = 0
        self.start: float | None = None
        self.frames = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.time()
        else:
            self.timestamp += self.samples
            wait = self.start + self.timestamp / SAMPLE_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        a = self.timestamp % len(self.table)
        chunk = self.table[a : a + self.samples]
        if len(chunk) < self.samples:
            chunk += self.table[: self.samples - len(chunk)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(chunk.tobytes())
        frame.pts = self.timestamp
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.frames += 1
        return frame


# ------------------------------------------------------------------ what we receive
class ParticipantStats:
    def __init__(self) -> None:
        self.video_frames = 0
        self.width = 0
        self.height = 0
        self.audio_frames = 0
        self.window: list[tuple[float, float, int]] = []  # (time, sum of squares, samples)

    def add_audio(self, now: float, sumsq: float, n: int) -> None:
        self.audio_frames += 1
        self.window.append((now, sumsq, n))

    def rms(self, now: float) -> float:
        self.window = [w for w in self.window if now - w[0] <= 1.0]
        n = sum(w[2] for w in self.window)
        return math.sqrt(sum(w[1] for w in self.window) / n) if n else 0.0

    def json(self, now: float) -> dict:
        return {
            "videoFrames": self.video_frames,
            "width": self.width,
            "height": self.height,
            "audioFrames": self.audio_frames,
            "rms": round(self.rms(now), 1),
        }


def msid_by_mid(sdp: str) -> dict[str, str]:
    """mid -> msid stream id of each m-line of an SDP that has both."""
    out: dict[str, str] = {}
    mid = stream = None

    def flush() -> None:
        if mid is not None and stream is not None:
            out[mid] = stream

    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m="):
            flush()
            mid = stream = None
        elif line.startswith("a=mid:"):
            mid = line[6:].strip()
        elif line.startswith("a=msid:"):
            stream = line[7:].split()[0] if line[7:].split() else None
    flush()
    return out


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.ws = None
        self.pc: RTCPeerConnection | None = None
        self.me: str | None = None
        self.host = False
        self.roster: list = []
        self.lobby: list = []
        self.state: dict = {}
        self.owner: dict[str, str] = {}  # mid -> participant id (msid stream id)
        self.stats: dict[str, ParticipantStats] = {}
        self.offers_answered = 0
        self.errors: list[str] = []
        self.video = BlueBoxTrack(args.width, args.height)
        self.audio = SineTrack(args.tone)
        self.tasks: set[asyncio.Task] = set()
        self.done = asyncio.Event()
        self.exit_reason = "quit"
        self.exit_code = 0

    def spawn(self, coro) -> None:
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    def finish(self, reason: str, code: int = 0) -> None:
        if not self.done.is_set():
            self.exit_reason, self.exit_code = reason, code
            self.done.set()

    async def send(self, msg: dict) -> None:
        if self.ws is None:
            return
        log.info("-> %s", msg.get("type"))
        await self.ws.send(json.dumps(msg))

    # -------------------------------------------------------------- receiving
    def on_track(self, track: MediaStreamTrack) -> None:
        mid = None
        for t in self.pc.getTransceivers():
            if t.receiver.track is track:
                mid = t.mid
        log.info("track %s %s on mid %s (owner %s)", track.kind, track.id, mid, self.owner.get(mid))
        self.spawn(self.consume(track, mid))

    async def consume(self, track: MediaStreamTrack, mid: str | None) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                log.info("remote %s track on mid %s ended", track.kind, mid)
                return
            owner = self.owner.get(mid) if mid is not None else None
            if not owner or owner == self.me or owner in ("-", "default"):
                continue
            st = self.stats.setdefault(owner, ParticipantStats())
            if track.kind == "video":
                st.video_frames += 1
                st.width, st.height = frame.width, frame.height
            else:
                data = array("h", bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)])
                st.add_audio(time.monotonic(), float(sum(s * s for s in data)), len(data))

    # -------------------------------------------------------------- signalling
    async def on_joined(self, msg: dict) -> None:
        self.me = msg.get("id")
        self.host = bool(msg.get("host"))
        emit({"type": "joined", "id": self.me, "host": self.host, "meeting": msg.get("meeting")})
        servers = []
        for s in msg.get("iceServers") or []:
            servers.append(
                RTCIceServer(urls=s.get("urls"), username=s.get("username"), credential=s.get("credential"))
            )
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc.on("track", self.on_track)

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            log.info("connection %s", self.pc.connectionState)
            if self.pc.connectionState == "failed":
                self.errors.append("connection failed")

        self.pc.addTrack(self.audio)
        self.pc.addTrack(self.video)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    def codecs(self) -> dict:
        """mid -> the first codecs negotiated on it (the first one is what we send)."""
        return {
            t.mid: [c.mimeType for c in t._codecs][:3] for t in self.pc.getTransceivers() if t.mid is not None
        }

    async def handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind != "candidate":
            log.info("<- %s", kind)
        if kind == "joined":
            await self.on_joined(msg)
        elif kind == "answer":
            if self.pc is None or self.pc.signalingState != "have-local-offer":
                log.info("ignoring answer in state %s", self.pc and self.pc.signalingState)
                return
            log.debug("answer:\n%s", msg["sdp"])
            theirs, ours = msid_by_mid(msg["sdp"]), msid_by_mid(self.pc.localDescription.sdp)
            echoed = sorted(m for m, stream in theirs.items() if ours.get(m) == stream)
            if echoed:
                # A browser gets a remote track whose stream id is its own local stream's.
                log.warning("the answer gives mids %s our own msid stream id %s", echoed, ours[echoed[0]])
            self.owner.update(theirs)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
            log.info("answer applied; codecs %s", self.codecs())
        elif kind == "offer":
            if self.pc is None:
                raise RuntimeError("offer before joined")
            log.debug("offer:\n%s", msg["sdp"])
            # Owners first: a track event of this offer may already see frames.
            self.owner.update(msid_by_mid(msg["sdp"]))
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            await self.send({"type": "answer", "sdp": self.pc.localDescription.sdp})
            self.offers_answered += 1
            log.info(
                "offer %d answered; owners %s; codecs %s", self.offers_answered, self.owner, self.codecs()
            )
        elif kind == "roster":
            self.roster = msg.get("participants") or []
            log.info("roster %s", [(p.get("id"), p.get("name"), p.get("kind")) for p in self.roster])
        elif kind == "lobby":
            self.lobby = msg.get("waiting") or []
            log.info("lobby %s", self.lobby)
            emit({"type": "lobby", "t": self.elapsed(), "waiting": self.lobby})
        elif kind == "state":
            self.state = {
                "recording": bool(msg.get("recording")),
                "transcription": bool(msg.get("transcription")),
            }
        elif kind == "error":
            self.errors.append(str(msg.get("message")))
            emit({"type": "error", "t": self.elapsed(), "message": msg.get("message")})
            if self.me is None:
                self.finish("error before joined: " + str(msg.get("message")), 1)
        elif kind == "bye":
            emit({"type": "bye", "t": self.elapsed(), "reason": msg.get("reason")})
            self.finish("bye: " + str(msg.get("reason")), 0)
        else:
            log.info("unknown message %s", kind)

    async def signalling(self) -> None:
        try:
            async with websockets.connect(self.args.ws, max_size=2**20, open_timeout=10) as ws:
                self.ws = ws
                log.info("socket open %s", self.args.ws)
                await self.send({"type": "join", "name": self.args.name})
                async for raw in ws:
                    try:
                        msg = json.loads(raw)
                    except ValueError:
                        log.warning("bad message from the server: %.200s", raw)
                        continue
                    try:
                        await self.handle(msg)
                    except Exception as e:  # like meet.js: report and go on
                        log.exception("handling %s failed", msg.get("type"))
                        text = f"handling {msg.get('type')} failed: {e!r}"
                        self.errors.append(text)
                        emit({"type": "error", "t": self.elapsed(), "message": text})
                    if self.done.is_set():
                        return
                log.info("socket closed %s %s", ws.close_code, ws.close_reason)
                self.finish(f"socket closed ({ws.close_code} {ws.close_reason})", 1)
        except Exception as e:
            log.exception("signalling failed")
            self.finish(f"signalling failed: {e!r}", 1)
        finally:
            self.ws = None

    # -------------------------------------------------------------- control and stats
    def elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def stats_line(self) -> dict:
        now = time.monotonic()
        participants = {}
        for p in self.roster:
            pid = p.get("id")
            if pid and pid != self.me:
                participants[pid] = ParticipantStats().json(now)
        for pid, st in self.stats.items():
            participants[pid] = st.json(now)
        return {
            "type": "stats",
            "t": self.elapsed(),
            "me": self.me,
            "host": self.host,
            "connection": self.pc.connectionState if self.pc else "new",
            "ice": self.pc.iceConnectionState if self.pc else "new",
            "offersAnswered": self.offers_answered,
            "sent": {"videoFrames": self.video.frames, "audioFrames": self.audio.frames},
            "decodeErrors": DecodeErrors.count,
            "participants": participants,
            "owners": dict(self.owner),
            "roster": self.roster,
            "lobby": self.lobby,
            "state": self.state,
            "errors": self.errors[-5:],
        }

    async def ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            emit(self.stats_line())

    async def command(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        cmd, rest = words[0].lower(), words[1:]
        log.info("command %s", line.strip())
        if cmd in ("quit", "exit", "leave"):
            self.finish("quit")
        elif cmd in ("admit", "reject") and len(rest) == 1:
            await self.send({"type": cmd, "id": rest[0]})
        elif cmd in ("recording", "transcription") and rest and rest[0] in ("on", "off"):
            await self.send({"type": cmd, "on": rest[0] == "on"})
        elif cmd == "mute" and len(rest) == 2:
            yes = ("1", "true", "on")
            await self.send({"type": "mute", "audio": rest[0] in yes, "video": rest[1] in yes})
        elif cmd == "stats":
            emit(self.stats_line())
        else:
            emit({"type": "error", "t": self.elapsed(), "message": f"unknown command: {line.strip()}"})

    async def control(self) -> None:
        # A daemon thread reads stdin (a pipe, a file, /dev/null or a terminal alike) and
        # never holds up the exit; None is EOF.
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                for line in sys.stdin:
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except (OSError, ValueError) as e:
                log.info("reading stdin: %r", e)
            finally:
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, None)
                except RuntimeError:  # the loop is closed: we are exiting anyway
                    pass

        threading.Thread(target=read, name="stdin", daemon=True).start()
        while True:
            line = await lines.get()
            if line is None:
                log.info("stdin closed")
                self.finish("stdin EOF")
                return
            await self.command(line)

    async def run(self) -> int:
        self.spawn(self.signalling())
        self.spawn(self.ticker())
        if not self.args.no_stdin:
            self.spawn(self.control())
        try:
            await asyncio.wait_for(self.done.wait(), timeout=self.args.lifetime)
        except asyncio.TimeoutError:
            self.finish(f"lifetime of {self.args.lifetime} s over")
        log.info("ending: %s", self.exit_reason)
        emit(self.stats_line())
        ws = self.ws
        try:
            if ws is not None:
                await asyncio.wait_for(self.send({"type": "leave"}), 2)
                await asyncio.wait_for(ws.close(1000, "leave"), 2)
        except Exception as e:
            log.info("closing the socket: %r", e)
        for t in list(self.tasks):
            t.cancel()
        try:
            if self.pc is not None:
                await asyncio.wait_for(self.pc.close(), 5)
        except Exception as e:
            log.info("closing the peer connection: %r", e)
        emit({"type": "exit", "t": self.elapsed(), "reason": self.exit_reason, "code": self.exit_code})
        return self.exit_code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ws", required=True, help="ws://HOST/meet/{meetingId}/ws[?host=KEY]")
    ap.add_argument("--name", default="Robot")
    ap.add_argument("--lifetime", type=float, default=120.0, help="seconds before quitting by itself")
    ap.add_argument("--width", type=int, default=WIDTH)
    ap.add_argument("--height", type=int, default=HEIGHT)
    ap.add_argument("--tone", type=float, default=440.0, help="Hz of the sine sent")
    ap.add_argument(
        "--ice-address",
        action="append",
        help="host candidate address to gather (repeatable; default 127.0.0.1; 'auto': aioice's own list)",
    )
    ap.add_argument("--no-stdin", action="store_true", help="take no commands on stdin")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logs (SDP, aiortc)")
    args = ap.parse_args()

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(relativeCreated)8.0f %(name)s %(levelname)s %(message)s",
    )
    if not args.verbose:
        for noisy in ("aiortc", "aioice", "websockets"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    logging.getLogger("aiortc.rtcrtpreceiver").addFilter(DecodeErrors())

    addresses = args.ice_address or ["127.0.0.1"]
    if addresses != ["auto"]:
        # aioice skips 127.0.0.1 (and ::1); the gateway's only candidate is on loopback.
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)
    log.info(
        "aiortc_peer: aiortc %s, av %s, websockets %s, ICE addresses %s",
        __import__("aiortc").__version__,
        av.__version__,
        websockets.__version__,
        addresses,
    )
    return asyncio.run(Peer(args).run())


if __name__ == "__main__":
    sys.exit(main())
