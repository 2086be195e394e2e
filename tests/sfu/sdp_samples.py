"""SDP offers written by other WebRTC stacks than aiortc, as text (for offer-parsing tests).

`CHROMIUM_OFFER` has the shape of a Chromium 120 WHIP offer (sendrecv audio + video,
BUNDLE, extmap with attributes, RED/FEC/RTX, an mDNS and a host candidate). Its host
candidate points at the discard port of 127.0.0.1, so an SFU answering it checks nobody.
"""

from __future__ import annotations

__all__ = ["CHROMIUM_OFFER"]

_LINES = """v=0
o=- 4215775240449105457 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS 5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 127.0.0.1
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:2841548297 1 udp 2122260223 5b6f8a34-3c1e-4b7a-9a51-0c1d2e3f4a5b.local 54321 typ host generation 0
a=candidate:1203941032 1 udp 2122194687 127.0.0.1 9 typ host generation 0 network-id 2
a=ice-ufrag:Zy8q
a=ice-pwd:9Bq0r6m0e2vQF3Hk1lBxk8ZP
a=ice-options:trickle
a=fingerprint:sha-256 3B:5A:8F:1E:0D:6C:2B:44:9A:17:C3:E8:5D:F0:21:7B:6E:90:AB:CD:12:34:56:78:9A:BC:DE:F0:11:22:33:44
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10 0e2f5c1d-7a66-4f0b-8d5e-3c2b1a09f8e7
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1457891203 cname:Qm3r1m2cL0pXk7Ze
a=ssrc:1457891203 msid:5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10 0e2f5c1d-7a66-4f0b-8d5e-3c2b1a09f8e7
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 98 99 100 101 112 113 116 117 118
c=IN IP4 127.0.0.1
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Zy8q
a=ice-pwd:9Bq0r6m0e2vQF3Hk1lBxk8ZP
a=ice-options:trickle
a=fingerprint:sha-256 3B:5A:8F:1E:0D:6C:2B:44:9A:17:C3:E8:5D:F0:21:7B:6E:90:AB:CD:12:34:56:78:9A:BC:DE:F0:11:22:33:44
a=setup:actpass
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendrecv
a=msid:5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10 b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:104 H264/90000
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f
a=rtpmap:105 rtx/90000
a=fmtp:105 apt=104
a=rtpmap:106 H264/90000
a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=106
a=rtpmap:108 H264/90000
a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f
a=rtpmap:109 rtx/90000
a=fmtp:109 apt=108
a=rtpmap:127 H264/90000
a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f
a=rtpmap:125 rtx/90000
a=fmtp:125 apt=127
a=rtpmap:39 H264/90000
a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f
a=rtpmap:40 rtx/90000
a=fmtp:40 apt=39
a=rtpmap:98 VP9/90000
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:100 VP9/90000
a=fmtp:100 profile-id=2
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=100
a=rtpmap:112 H264/90000
a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f
a=rtpmap:113 rtx/90000
a=fmtp:113 apt=112
a=rtpmap:116 red/90000
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:118 ulpfec/90000
a=ssrc-group:FID 3021842557 1841095318
a=ssrc:3021842557 cname:Qm3r1m2cL0pXk7Ze
a=ssrc:3021842557 msid:5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10 b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e
a=ssrc:1841095318 cname:Qm3r1m2cL0pXk7Ze
a=ssrc:1841095318 msid:5a2a0c8d-1d5f-4d88-a9f1-1c4c9a6b2f10 b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e
"""

CHROMIUM_OFFER = "\r\n".join(_LINES.splitlines()) + "\r\n"
