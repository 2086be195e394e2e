#!/usr/bin/python3
"""A WHIP publisher or WHEP subscriber built on GStreamer's webrtcbin: an independent WebRTC stack.

Runs under Debian's ``/usr/bin/python3`` (PyGObject and GStreamer come from Debian packages, not the
project's virtualenv), so it uses ``gi`` and the standard library only. It keeps webrtcbin's own
defaults (its RSA certificate, ``a=setup:actpass`` in the offer, ``max-bundle``) because the point
is to meet the server as a third-party integrator would. Non-trickle: the offer is POSTed once ICE
gathering is complete. After ``--seconds`` it DELETEs its session and prints one JSON line::

    /usr/bin/python3 tests/interop/gst_webrtc_client.py whip URL --token TOKEN --seconds 5
    /usr/bin/python3 tests/interop/gst_webrtc_client.py whep URL --token TOKEN --no-video
    /usr/bin/python3 tests/interop/gst_webrtc_client.py whip URL --token TOKEN --codec h264 --audio-level

The exit status is 0 whenever the JSON line was printed; the caller judges the results.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtp", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import (  # noqa: E402
    GLib,
    Gst,
    GstRtp,  # noqa: F401  (loaded for GstRTPHeaderExtension's methods)
    GstSdp,
    GstWebRTC,
)

__all__ = ["main"]

AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
VIDEO = {  # --codec: encoder and payloader, and the RTP caps of the m-line
    "vp8": ("vp8enc deadline=1 keyframe-max-dist=15 target-bitrate=300000"
            " ! rtpvp8pay pt=96 mtu=1200 picture-id-mode=15-bit",
            "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"),
    "h264": ("openh264enc bitrate=300000 gop-size=15 ! h264parse"
             " ! rtph264pay pt=102 mtu=1200 config-interval=-1 aggregate-mode=zero-latency",
             # constrained baseline; the publisher's level is OpenH264's (1.2 for 320x240)
             "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
             "packetization-mode=(string)1"),
}
AUDIO_CAPS = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2"


class Client:
    """One webrtcbin session driven step by step from the main thread; GLib runs in another."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.result: dict[str, Any] = {
            "mode": args.mode, "codec": args.codec, "bundle": not args.no_bundle, "audio_level": args.audio_level,
            "offer_setup": None, "offer_candidates": 0, "offer_mdns": False, "offer_has_bundle": False,
            "offer_extmaps": [],
            "post_status": None, "post_content_type": None, "problem": None, "location": None,
            "answer_setup": [], "answer_candidates": 0, "answer_has_bundle": False, "answer_media": [],
            "ice_gathering_states": [], "ice_connection_states": [], "connection_states": [],
            "dtls_states": [], "video_frames": 0, "audio_buffers": 0, "delete_status": None, "errors": [],
        }
        self.lock = threading.Lock()
        self.gathered = threading.Event()
        self.pipeline = Gst.Pipeline.new("client")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.NONE if args.no_bundle
                                 else GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.webrtc.set_property("latency", 100)
        # Gather on loopback only: the node under test listens on 127.0.0.1.
        # Keep a Python reference: PyGObject would otherwise drop the agent webrtcbin still uses.
        self.ice = self.webrtc.get_property("ice-agent")
        self.ice.emit("add-local-ip-address", args.local_address)
        self.pipeline.add(self.webrtc)
        for prop in ("ice-gathering-state", "ice-connection-state", "connection-state"):
            self.webrtc.connect(f"notify::{prop}", self._on_state)
        self.watched: set[int] = set()
        self.loop = GLib.MainLoop()
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self._on_error)

    # -- state and errors -------------------------------------------------------------------------

    def _on_state(self, element: Gst.Element, pspec: Any) -> None:
        value = element.get_property(pspec.name).value_nick
        key = pspec.name.replace("-", "_") + "s"
        with self.lock:
            if not self.result[key] or self.result[key][-1] != value:
                self.result[key].append(value)
        if pspec.name == "ice-gathering-state" and value == "complete":
            self.gathered.set()

    def _on_dtls_state(self, transport: Any, pspec: Any) -> None:
        value = transport.get_property("state").value_nick
        with self.lock:
            if not self.result["dtls_states"] or self.result["dtls_states"][-1] != value:
                self.result["dtls_states"].append(value)

    def _on_error(self, bus: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        detail = (debug or "").rsplit(":\n", 1)[-1].strip()[:200]
        self.error(f"{message.src.get_name()}: {error.message} {detail}".strip())

    def error(self, text: str) -> None:
        with self.lock:
            self.result["errors"].append(text)

    def watch_dtls(self) -> None:
        """Follow every DTLS transport's state (one with BUNDLE, one per m-line without)."""
        index = 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            index += 1
            for end in ("sender", "receiver"):
                part = transceiver.get_property(end)
                transport = part.get_property("transport") if part is not None else None
                if transport is not None and hash(transport) not in self.watched:
                    self.watched.add(hash(transport))
                    transport.connect("notify::state", self._on_dtls_state)

    # -- media ------------------------------------------------------------------------------------

    def build_publisher(self) -> None:
        """videotestsrc → VP8 (or H.264) and audiotestsrc → Opus, each on a send-only transceiver."""
        if not self.args.no_video:
            encode, caps = VIDEO[self.args.codec]
            video = Gst.parse_bin_from_description(
                "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1"
                f" ! videoconvert ! queue ! {encode} ! capsfilter caps=\"{caps}\"", True)
            self.pipeline.add(video)
            video.link(self.webrtc)
        if not self.args.no_audio:
            audio = Gst.parse_bin_from_description(
                "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! queue"
                f" ! opusenc ! rtpopuspay name=opuspay pt=111 mtu=1200 ! capsfilter caps=\"{AUDIO_CAPS}\"", True)
            if self.args.audio_level:
                extension = Gst.ElementFactory.make("rtphdrextclientaudiolevel")
                extension.set_id(1)
                # "vad" is read-only: the extension takes it from its SDP attributes, as from a=extmap.
                extension.set_attributes_from_caps(Gst.Caps.from_string(
                    f'application/x-rtp,extmap-1=<(string)"", (string)"{AUDIO_LEVEL}", (string)"vad=on">'))
                audio.get_by_name("opuspay").emit("add-extension", extension)
            self.pipeline.add(audio)
            audio.link(self.webrtc)
        index = 0
        while (transceiver := self.webrtc.emit("get-transceiver", index)) is not None:
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            index += 1

    def build_subscriber(self) -> None:
        """Receive-only transceivers; whatever arrives is decoded and counted."""
        recvonly = GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY
        if not self.args.no_video:
            caps = VIDEO[self.args.codec][1]
            if self.args.codec == "h264":
                caps += ",profile-level-id=(string)42e01f"  # what browsers offer: constrained baseline 3.1
            self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(caps))
        if not self.args.no_audio:
            self.webrtc.emit("add-transceiver", recvonly, Gst.Caps.from_string(AUDIO_CAPS))
        self.webrtc.connect("pad-added", self._on_pad)

    def _on_pad(self, element: Gst.Element, pad: Gst.Pad) -> None:
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self._on_decoded)
        self.pipeline.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def _on_decoded(self, element: Gst.Element, pad: Gst.Pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        key = "video_frames" if name.startswith("video/") else "audio_buffers"
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))

        def count(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
            with self.lock:
                self.result[key] += 1
            return Gst.PadProbeReturn.OK

        pad.add_probe(Gst.PadProbeType.BUFFER, count)

    # -- signalling -------------------------------------------------------------------------------

    def call(self, signal: str, *args: Any) -> Gst.Structure | None:
        promise = Gst.Promise.new()
        self.webrtc.emit(signal, *args, promise)
        promise.wait()
        return promise.get_reply()

    def offer(self) -> str:
        reply = self.call("create-offer", None)
        if reply is None or reply.get_value("offer") is None:
            raise RuntimeError(f"create-offer failed: {reply.to_string() if reply else None}")
        offer = reply.get_value("offer")
        self.call("set-local-description", offer)
        if not self.gathered.wait(self.args.timeout):
            self.error("ICE gathering did not complete")
        text: str = self.webrtc.get_property("local-description").sdp.as_text()
        if self.args.mdns:
            text = hide_addresses(text)
        lines = text.splitlines()
        self.result["offer_mdns"] = self.args.mdns and all(
            x.split()[4].endswith(".local") for x in lines if x.startswith("a=candidate:"))
        self.result["offer_setup"] = next((x.split(":", 1)[1] for x in lines if x.startswith("a=setup:")), None)
        self.result["offer_candidates"] = sum(x.startswith("a=candidate:") for x in lines)
        self.result["offer_has_bundle"] = any(x.startswith("a=group:BUNDLE") for x in lines)
        self.result["offer_extmaps"] = [x for x in lines if x.startswith("a=extmap:")]
        if self.args.verbose:
            print(text, file=sys.stderr)
        return text

    def answer(self, text: str) -> None:
        if self.args.verbose:
            print(text, file=sys.stderr)
        lines = text.splitlines()
        self.result["answer_setup"] = [x.split(":", 1)[1] for x in lines if x.startswith("a=setup:")]
        self.result["answer_candidates"] = sum(x.startswith("a=candidate:") for x in lines)
        self.result["answer_has_bundle"] = any(x.startswith("a=group:BUNDLE") for x in lines)
        # "video" or "audio", and "video:0" for an m-line the server rejected (port zero)
        media = [x[2:].split(" ", 2) for x in lines if x.startswith("m=")]
        self.result["answer_media"] = [kind if port != "0" else f"{kind}:0" for kind, port, _ in media]
        ok, message = GstSdp.SDPMessage.new_from_text(text)
        if ok != GstSdp.SDPResult.OK:
            raise RuntimeError("the answer is not SDP webrtcbin can parse")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        reply = self.call("set-remote-description", answer)
        if reply is not None and reply.has_field("error"):
            self.error(f"set-remote-description: {reply.get_value('error').message}")

    def http(self, method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": f"Bearer {self.args.token}"}
        if body is not None:
            headers["Content-Type"] = "application/sdp"
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.args.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        thread = threading.Thread(target=self.loop.run, daemon=True)
        thread.start()
        try:
            self.build_publisher() if self.args.mode == "whip" else self.build_subscriber()
            self.pipeline.set_state(Gst.State.PLAYING)
            offer = self.offer()
            status, headers, body = self.http("POST", self.args.url, offer.encode())
            self.result["post_status"] = status
            self.result["post_content_type"] = headers.get("Content-Type")
            if status != 201:
                try:
                    self.result["problem"] = json.loads(body)
                except ValueError:
                    self.result["problem"] = body.decode("utf-8", "replace")[:500]
                return self.result
            self.result["location"] = headers.get("Location")
            self.answer(body.decode())
            self.watch_dtls()
            time.sleep(self.args.seconds)
            self.watch_dtls()
            if self.result["location"]:
                self.result["delete_status"] = self.http("DELETE", self.result["location"])[0]
        except Exception as exc:  # reported in the JSON line: the caller asserts on it
            self.error(f"{type(exc).__name__}: {exc}")
        finally:
            self.pipeline.set_state(Gst.State.NULL)
            self.loop.quit()
            thread.join(2)
        return self.result


def hide_addresses(sdp: str) -> str:
    """Replace each candidate's address by an mDNS name, as a browser without camera permission does.

    The names resolve nowhere: the server can only learn this client's address from its checks.
    """
    names: dict[str, str] = {}
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            fields[4] = names.setdefault(fields[4], f"{uuid.uuid4()}.local")
            line = " ".join(fields)
        lines.append(line)
    return "\r\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["whip", "whep"], help="publish (WHIP) or receive (WHEP)")
    parser.add_argument("url", help="the WHIP or WHEP endpoint, e.g. http://127.0.0.1:8080/whip/<room id>")
    parser.add_argument("--token", required=True, help="the join token, sent as a bearer token")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to keep the session up")
    parser.add_argument("--timeout", type=float, default=10.0, help="limit for ICE gathering and each request")
    parser.add_argument("--no-bundle", action="store_true", help="bundle-policy none: no a=group:BUNDLE")
    parser.add_argument("--audio-level", action="store_true",
                        help=f"publish the {AUDIO_LEVEL} header extension with vad=on")
    parser.add_argument("--codec", choices=sorted(VIDEO), default="vp8", help="the video codec to send or ask for")
    parser.add_argument("--no-video", action="store_true", help="no video m-line")
    parser.add_argument("--no-audio", action="store_true", help="no audio m-line")
    parser.add_argument("--mdns", action="store_true", help="POST every candidate with a .local name instead")
    parser.add_argument("--local-address", default="127.0.0.1", help="the only address ICE gathers on")
    parser.add_argument("--verbose", action="store_true", help="print the offer and the answer on stderr")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    Gst.init(None)
    result = Client(parse(argv)).run()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
