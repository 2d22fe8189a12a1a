"""The AMI replay server over real TCP: the protocol, the replay, --loop ids, the fault switches.

Clients are plain sockets (to see every byte) and pyst2's own ``Manager`` once, as the listener
uses it. Nothing is mocked.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from callmon.sources.ami.framing import AmiEvent, FrameReader, parse_frame, read_capture
from callmon.sources.ami.replay import Capture
from callmon.sources.ami.server import DEV_SECRET, MALFORMED_FRAMES, AmiServer

SAMPLES = Path(__file__).resolve().parents[3] / "sample_cdr"
FAST = SAMPLES / "a_direct_fast_caller_hangs_up" / "ami.raw"  # 81 events over 10.5 s
TRANSFER = SAMPLES / "h_blind_transfer" / "ami.raw"
RING_TIMEOUT = SAMPLES / "l_direct_ring_timeout" / "ami.raw"  # 2003 rings for 40 s
ID_KEY = re.compile(r"(Uniqueid|Linkedid)$")


def capture(path: Path) -> list[AmiEvent]:
    return read_capture(path)[0]


class Client:
    """A bare AMI client: sends actions, reads frames (headers plus raw bytes) with a timeout."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        while b"\r\n" not in self.buf:
            self._recv()
        banner, self.buf = self.buf.split(b"\r\n", 1)
        self.banner = banner.decode()

    def _recv(self) -> bool:
        data = self.sock.recv(1 << 20)
        self.buf += data
        return bool(data)

    def send(self, action: str, **headers: str) -> None:
        lines = [f"Action: {action}"] + [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def frame(self) -> tuple[dict[str, str], bytes] | None:
        """The next frame, or None at the end of the stream."""
        while b"\r\n\r\n" not in self.buf:
            if not self._recv():
                return None
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return parse_frame(raw.decode("utf-8", "replace"))[0], raw

    def response(self, action_id: str) -> dict[str, str]:
        """The response with this ActionID, skipping the events streaming meanwhile."""
        while (f := self.frame()) is not None:
            if f[0].get("ActionID") == action_id and "Response" in f[0]:
                return f[0]
        raise AssertionError(f"no response to {action_id}")

    def login(self, secret: str = DEV_SECRET, **extra: str) -> dict[str, str]:
        self.send("Login", Username="callmon", Secret=secret, ActionID="login", **extra)
        return self.response("login")

    def events(self, n: int) -> list[dict[str, str]]:
        """The next ``n`` events (other frames skipped)."""
        out = []
        while len(out) < n:
            f = self.frame()
            assert f is not None, f"stream ended after {len(out)} of {n} events"
            if "Event" in f[0]:
                out.append(f[0])
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve():
    """Start servers for a test; all are stopped at its end."""
    servers = []

    def start(path: Path = FAST, **kwargs) -> AmiServer:
        servers.append(AmiServer.from_capture(path, **kwargs).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


# --- protocol -----------------------------------------------------------------------------------


def test_banner_carries_the_captures_version(serve):
    """The banner is the recorded Asterisk's: ``Asterisk Call Manager/12.0.0``."""
    c = Client(serve(speed=0).port)
    assert c.banner == "Asterisk Call Manager/12.0.0"


def test_login_accepted_echoes_action_id(serve):
    c = Client(serve(speed=0).port)
    assert c.login() == {"Response": "Success", "ActionID": "login", "Message": "Authentication accepted"}


def test_wrong_secret_is_refused_and_the_connection_closed(serve):
    c = Client(serve(speed=0).port)
    assert c.login(secret="nope") == {"Response": "Error", "ActionID": "login", "Message": "Authentication failed"}
    assert c.frame() is None


def test_actions_before_login_are_denied_except_logoff(serve):
    c = Client(serve(speed=0).port)
    c.send("Ping", ActionID="p")
    assert c.response("p")["Message"] == "Permission denied"
    c.send("Logoff", ActionID="bye")
    assert c.response("bye") == {"Response": "Goodbye", "ActionID": "bye", "Message": "Thanks for all the fish."}
    assert c.frame() is None


def test_ping_answers_pong_with_a_timestamp(serve):
    c = Client(serve(speed=0).port)
    c.login()
    c.send("Ping", ActionID="p1")
    r = c.response("p1")
    assert (r["Response"], r["Ping"]) == ("Success", "Pong")
    assert abs(float(r["Timestamp"]) - time.time()) < 5 and re.fullmatch(r"\d+\.\d{6}", r["Timestamp"])


def test_unknown_action_is_an_error(serve):
    c = Client(serve(speed=0).port)
    c.login()
    c.send("Originate", ActionID="o")
    r = c.response("o")
    assert r["Response"] == "Error" and r["Message"].startswith("Invalid/unknown command")


def test_events_off_at_login_then_on(serve):
    """``Events: off`` at login silences the stream; ``Events`` with ``EventMask: on`` starts it."""
    c = Client(serve(speed=0).port)
    c.login(Events="off")
    c.send("Ping", ActionID="p")
    first = c.frame()
    assert first is not None and first[0].get("ActionID") == "p"  # no event came before the answer
    c.send("Events", EventMask="on", ActionID="e")
    assert c.response("e") == {"Response": "Success", "ActionID": "e", "Events": "On"}
    assert [e["Event"] for e in c.events(3)] == [e.name for e in capture(FAST)[:3]]


def test_event_mask_by_class_lets_only_those_through(serve):
    c = Client(serve(speed=0).port)
    c.login(Events="agent")
    wanted = [e for e in capture(FAST) if "agent" in e.get("Privilege", "")]
    got = c.events(len(wanted))
    assert [e["Event"] for e in got] == [e.name for e in wanted]
    c.send("Events", EventMask="off", ActionID="off")
    assert c.response("off")["Events"] == "Off"


def test_core_show_channels_lists_the_channels_up_now(serve):
    """While 2003 rings (40 s, here 8 s at speed 5) both legs are listed with the ids streamed."""
    c = Client(serve(RING_TIMEOUT, speed=5).port)
    c.login()
    seen = []
    while not seen or seen[-1]["Event"] != "DialBegin":
        seen += c.events(1)
    c.send("CoreShowChannels", ActionID="cs")
    assert c.response("cs") == {"Response": "Success", "ActionID": "cs", "EventList": "start",
                                "Message": "Channels will follow"}  # fmt: skip
    rows = []
    while (f := c.frame()[0])["Event"] == "CoreShowChannel":
        rows.append(f)
    assert f == {"Event": "CoreShowChannelsComplete", "ActionID": "cs", "EventList": "Complete", "ListItems": "2"}
    created = {e["Uniqueid"]: e for e in seen if e["Event"] == "Newchannel"}
    assert {r["Uniqueid"] for r in rows} == set(created)
    for r in rows:
        assert r["ActionID"] == "cs" and r["Channel"] == created[r["Uniqueid"]]["Channel"]
        assert r["Linkedid"] == created[r["Uniqueid"]]["Linkedid"]
        assert re.fullmatch(r"\d\d:\d\d:\d\d", r["Duration"])


def test_core_show_channels_is_empty_before_anything_happened(serve):
    c = Client(serve(speed=0).port)
    c.login(Events="off")
    c.send("CoreShowChannels", ActionID="cs")
    c.response("cs")
    assert c.frame()[0]["ListItems"] == "0"


# --- the replay ---------------------------------------------------------------------------------


def test_speed_0_delivers_every_event_in_order_moved_to_now(serve):
    """All events, in order, unchanged but for times and ids moved by one whole-second shift."""
    events = capture(TRANSFER)
    started = time.time()
    c = Client(serve(TRANSFER, speed=0).port)
    c.login()
    got = c.events(len(events))
    shift = round(float(got[1]["Timestamp"]) - events[1].timestamp)
    assert abs(float(got[1]["Timestamp"]) - started) < 2
    for g, e in zip(got, events):
        assert list(g) == list(e.headers)
        for k, v in e.headers.items():
            if k == "Timestamp":
                assert re.fullmatch(r"\d+\.\d{6}", g[k]) and round(float(g[k]) - float(v), 6) == shift
            elif ID_KEY.search(k) and k != "BridgeUniqueid":
                assert g[k] == f"{int(v.split('.')[0]) + shift}.{v.split('.')[1]}"
            elif k not in ("EventTV", "SessionTV", "BridgeUniqueid", "LoginTime", "LastCall"):
                assert g[k] == v, k


def test_keep_timestamps_replays_the_capture_byte_for_byte(serve):
    events = capture(TRANSFER)
    c = Client(serve(TRANSFER, speed=0, shift_times=False).port)
    c.login()
    raw = []
    while len(raw) < len(events):
        h, r = c.frame()
        if "Event" in h:
            raw.append(r + b"\r\n\r\n")
    assert b"".join(raw) == "".join(e.to_text() for e in events).encode()


def test_speed_paces_the_replay_by_the_timestamps(serve):
    """At speed 20 the 10.5 s capture takes at least about 10.5 / 20 s."""
    events = capture(FAST)
    span = events[-1].timestamp - next(e.timestamp for e in events if e.timestamp)
    c = Client(serve(speed=20).port)
    started = time.monotonic()
    c.login()
    c.events(len(events))
    assert time.monotonic() - started >= 0.9 * span / 20


def test_loop_makes_every_pass_new_calls(serve):
    """Three passes: ids and channel names never repeat, times go on, ids stay Asterisk-shaped."""
    events = capture(FAST)
    n = len(events)
    c = Client(serve(speed=0, loop=True).port)
    c.login()
    got = c.events(3 * n)
    ids, chans = [], []
    for p in range(3):
        batch = got[p * n : (p + 1) * n]
        assert [e["Event"] for e in batch] == [e.name for e in events]
        ids.append({v for e in batch for k, v in e.items() if ID_KEY.search(k) and k != "BridgeUniqueid"})
        chans.append({v for e in batch for k, v in e.items() if k.endswith("Channel")})
        for e in batch:
            if e["Event"] == "Newchannel":  # the id's epoch is the channel's creation second
                assert e["Uniqueid"].split(".")[0] == e["Timestamp"].split(".")[0]
    assert all(re.fullmatch(r"\d{10}\.\d+", i) for s in ids for i in s)
    assert all(re.fullmatch(r"PJSIP/[\w-]+-[0-9a-f]{8}", ch) for s in chans for ch in s)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not ids[a] & ids[b] and not chans[a] & chans[b]
    stamps = [float(e["Timestamp"]) for e in got if "Timestamp" in e]
    assert stamps == sorted(stamps)
    bridges = [{e["BridgeUniqueid"] for e in got[p * n : (p + 1) * n] if "BridgeUniqueid" in e} for p in range(3)]
    assert all(bridges) and not bridges[0] & bridges[1]


def test_loop_strides_keep_far_passes_apart():
    """Pass k's ids lie in their own sequence range, so no two passes can ever share one."""
    cap = Capture(capture(SAMPLES / "j_load" / "ami.raw"))
    first, later = cap.shift(0), cap.shift(1000)
    assert first.value("Uniqueid", "1795376562.5") == "1795376562.5"
    assert later.value("Uniqueid", "1795376562.5") == f"{1795376562 + 1000 * cap.period}.{5 + 1000 * cap.id_stride}"
    assert later.value("Channel", "PJSIP/2001-0000000a") == f"PJSIP/2001-{10 + 1000 * cap.chan_stride:08x}"


def test_clients_share_one_timeline(serve):
    """A second client sees the same replay from where it joined: a suffix of the first's stream."""
    events = capture(FAST)
    server = serve(speed=5)
    a, b = Client(server.port), Client(server.port)
    a.login()
    b.login()
    got_a = a.events(len(events))
    tail = len(events) - 2  # all but FullyBooted and SuccessfulAuth, which happen at once
    got_b = b.events(tail)
    assert got_b == got_a[-tail:]


# --- fault switches -----------------------------------------------------------------------------


def test_drop_after_closes_once_and_a_reconnect_gets_the_rest(serve):
    """Speed 0: nobody read on while the client was away, so it continues where it was cut."""
    events = capture(FAST)
    server = serve(speed=0, drop_after=10)
    c = Client(server.port)
    c.login()
    first = c.events(10)
    assert c.frame() is None
    c = Client(server.port)
    c.login()
    rest = c.events(len(events) - 10)
    assert [e["Event"] for e in first + rest] == [e.name for e in events]


def test_inject_malformed_frames_between_events(serve):
    """Every 7 events a junk frame; a reader counts and skips them, every event still arrives."""
    events = capture(FAST)
    c = Client(serve(speed=0, inject_malformed_every=7).port)
    c.login()
    reader = FrameReader()
    got, junk = [], set()
    while len(got) < len(events):
        h, raw = c.frame()
        got += reader.feed(raw + b"\r\n\r\n")
        if "Event" not in h:
            junk.add(raw + b"\r\n\r\n")
    assert [e.name for e in got] == [e.name for e in events]
    assert reader.stats.malformed == len(events) // 7
    assert junk == set(MALFORMED_FRAMES)  # a junk line, lines without a colon, binary junk


def test_stall_pauses_the_stream(serve):
    c = Client(serve(speed=0, stall_after=5, stall_seconds=0.6).port)
    c.login()
    c.events(5)
    started = time.monotonic()
    c.events(1)
    assert time.monotonic() - started >= 0.5


# --- pyst2 and the command line -----------------------------------------------------------------


def test_pyst2_manager_logs_in_and_receives_every_event(serve):
    """pyst2's own Manager (as the listener uses it) against the server."""
    import asterisk.manager

    events = capture(TRANSFER)
    got, done = [], threading.Event()

    def on_event(event, manager):
        got.append(event.name)
        if len(got) == len(events):
            done.set()

    manager = asterisk.manager.Manager()
    manager.register_event("*", on_event)
    manager.connect("127.0.0.1", serve(TRANSFER, speed=0).port)
    try:
        assert manager.version == "12.0.0"
        assert manager.login("callmon", DEV_SECRET).get_header("Message") == "Authentication accepted"
        assert done.wait(10)
        assert manager.ping().get_header("Ping") == "Pong"
    finally:
        try:
            manager.close()
        except (ValueError, OSError, asterisk.manager.ManagerException):
            pass  # stock pyst2 races its own reader thread on close (its socket file is gone)
    assert got == [e.name for e in events]


def test_cli_prints_its_port_serves_and_stops_on_sigterm():
    secret = "s3cret-not-in-output"
    proc = subprocess.Popen(
        [sys.executable, "-m", "callmon", "ami-server", "--capture", str(FAST), "--port", "0", "--speed", "0",
         "--secret", secret],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert re.fullmatch(r"listening on 127\.0\.0\.1:\d+\n", line), line + proc.stderr.read()
        c = Client(int(line.rsplit(":", 1)[1]))
        assert c.login(secret=secret)["Message"] == "Authentication accepted"
        assert len(c.events(len(capture(FAST)))) == len(capture(FAST))
        c.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert secret not in out + err
