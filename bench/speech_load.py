"""N concurrent SIPp callers who say an option, against `ivr serve` (built-in endpoint, speech on).

    .venv/bin/python bench/speech_load.py [--calls 50,100,200] [--speech on|off] [--rate R] [--greetings K]
        [--language en|es]

For each N: a fresh `ivr serve` on free ports with SQLite in a temp dir and a one-menu flow in
--language (the menu's prompt, then option 1 -> a billing node that plays ~8 s and hangs up); SIPp runs
tests/sipp/uac_speech_billing.xml (0.5 s after the answer the caller says "one" in English, Allison's
recording from asterisk-core-sounds-en-wav: the English line hears clean lines with Whisper, which is
tuned to human voices and hears espeak-ng's English badly; "facturación" in Spanish, espeak-ng; pcaps
written by tests/sipp/make_speech_pcap.py) N times at N/4 calls/s (or --rate) with at most N at once; the billing
node plays K 2.3 s greetings (--greetings, 2): at --rate 10 --greetings 6 a call lasts about 18 s, so
about 185 calls are live while 10 new menu turns start each second. Printed per N:
- rss MB: the server process plus its speech worker processes, peak and 3 s after the calls ended
- rtp p99 ms: the server's own pacer (``puente_rtp_send_lateness_seconds``, recent window)
- right %: calls whose record shows the billing node (read from the call records)
- p95 ms: end of the caller's speech -> recognition result (``puente_speech_latency_seconds``; the
  endpoint's 700 ms of trailing silence comes before it)
- shed: menu turns that fell back to keys (``puente_speech_shed_total``)
- by stand-in: utterances PocketSphinx decoded because Whisper's lane was busy
  (``puente_speech_fallback_total``)
- prompt p99 ms: from a turn's start (or the caller's key / recognised answer before it) to the first
  RTP frame of its prompt (``puente_prompt_start_seconds``, the pacer's recent window); goal < 100 ms
The last line for a single N is ``calls N: rss MB X, rtp p99 ms X, right % X, p95 ms X``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sipp.make_speech_pcap import write_pcap  # noqa: E402
from tests.sipp.sipp import free_port, run_sipp  # noqa: E402
from tests.support import human_audio as human  # noqa: E402
from tests.support.speech_audio import silence  # noqa: E402

SIPP = ROOT / "tests" / "sipp"

FLOW = """\
name: speech_load
default: true
languages: [LANG]
start: lang
nodes:
  lang: {kind: language, value: LANG, next: menu}
  menu:
    kind: menu
    prompts: [main_menu]
    options:
      1: {next: billing_done, say: {en: [billing, bill, invoice, payments], es: [facturación, factura, pagos]}}
      2: {next: other_done, say: {en: [technical support, support, tech support], es: [soporte técnico, soporte]}}
      3: {next: other_done, say: {en: [order status, order, my order], es: [estado del pedido, pedido]}}
    agent: to_general
    no_input: [no_input, main_menu]
    no_match: [invalid, main_menu]
    max_tries: 1
    fallback: other_done
  billing_done: {kind: play, prompts: [GREETINGS], next: bye}
  other_done: {kind: play, prompts: [greeting], next: bye}
  bye: {kind: hangup, prompts: [goodbye]}
  to_general: {kind: queue, queue: general}
"""


@dataclass
class Row:
    calls: int
    ok: int
    rss_peak: float
    rss_after: float
    rtp_p99_ms: float
    right: float
    p95_ms: float
    shed: int
    decoded: int
    prompt_p99_ms: float
    fell_back: int


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children (the speech workers), from /proc."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(c) for c in children)
    return total / 1024


def caller_audio(language: str, work: Path) -> Path:
    """The pcap the callers play: a human "one" in English (written here from the installed
    recording), espeak-ng's "facturación" in Spanish."""
    if language != "en":
        return SIPP / f"speech_billing_{language}.pcap"
    pcap = work / "speech_one_en.pcap"
    # A second of line after the word: RTP that stops with the word would leave the endpointer no
    # trailing silence to end the utterance on (espeak-ng's own recordings end in silence).
    write_pcap(human.digit("en", "1") + silence(1000), pcap)
    return pcap


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else r"(?:\{[^}]*\})?") + r" (\S+)"
    values = [float(v) for v in re.findall(r"^" + pattern + r"$", text, re.M)]
    return sum(values)


async def run_one(calls: int, speech: bool, rate: float | None = None, greetings: int = 2,
                  language: str = "en") -> Row:
    with tempfile.TemporaryDirectory(prefix="speech-load-") as tmp:
        work = Path(tmp)
        flows = work / "flows"
        flows.mkdir()
        flow = FLOW.replace("GREETINGS", ", ".join(["greeting"] * greetings)).replace("LANG", language)
        (flows / "speech_load.yaml").write_text(flow)
        scenario = work / "uac_speech_billing.xml"  # the caller says the billing option in the flow's language
        scenario.write_text((SIPP / "uac_speech_billing.xml").read_text().replace(
            "speech_billing_en.pcap", str(caller_audio(language, work))))
        for shipped in (ROOT / "dialplan").glob("*.yaml"):  # schedules, queues: read beside the flows
            shutil.copy(shipped, work / shipped.name)
        http_port, sip_port = free_port(socket.SOCK_STREAM), free_port()
        rtp_min = 40000 + (os.getpid() % 200) * 100  # away from the tests' and other benches' ranges
        env = {**os.environ, "IVR_VAR_DIR": str(work / "var"), "IVR_FLOWS_DIR": str(flows),
               "IVR_DEFAULT_LANGUAGE": language, "IVR_LANGUAGES": f'["{language}"]', "IVR_LOG_LEVEL": "WARNING",
               "IVR_HTTP__PORT": str(http_port), "IVR_HTTP__HOST": "127.0.0.1",
               "IVR_SIP__PORT": str(sip_port), "IVR_SIP__MAX_CALLS": str(calls + 50),
               "IVR_SIP__RTP_PORT_MIN": str(rtp_min), "IVR_SIP__RTP_PORT_MAX": str(rtp_min + 20000),
               "IVR_AGI__ENABLED": "false", "IVR_AUDIOSOCKET__ENABLED": "false", "IVR_CALLBACKS__ENABLED": "false",
               "IVR_SPEECH__ENABLED": "true" if speech else "false"}
        server, log = start_server(env, work)
        metrics_url = f"http://127.0.0.1:{http_port}/metrics"
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                await wait_ready(client, metrics_url, server, work / "serve.log")
                await asyncio.sleep(8 if speech else 1)  # the speech workers start and load their model
                peak = 0.0
                done = asyncio.Event()

                async def sample() -> None:
                    nonlocal peak
                    while not done.is_set():
                        peak = max(peak, tree_rss_mb(server.pid))
                        await asyncio.sleep(0.2)

                sampler = asyncio.create_task(sample())
                rate = rate or max(5.0, calls / 4)
                outcome = await run_sipp(scenario, workdir=work, target=f"127.0.0.1:{sip_port}",
                                         calls=calls, rate=rate, limit=calls, timeout=calls / rate + 60)
                done.set()
                await sampler
                await asyncio.sleep(3)
                after = tree_rss_mb(server.pid)
                text = (await client.get(metrics_url)).text
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        ok = int(m[-1]) if (m := re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", outcome.stdout)) else 0
        right = billing_calls(work / "var") / calls
        rtp_p99 = metric(text, "puente_rtp_send_lateness_seconds", 'quantile="0.99"') * 1000
        p95 = metric(text, "puente_speech_latency_seconds", 'quantile="0.95"') * 1000
        prompt_p99 = metric(text, "puente_prompt_start_seconds", 'quantile="0.99"') * 1000
        return Row(calls, ok, peak, after, rtp_p99, right, p95,
                   int(metric(text, "puente_speech_shed_total")), int(metric(text, "puente_speech_decoded_total")),
                   prompt_p99, int(metric(text, "puente_speech_fallback_total")))


def start_server(env: dict[str, str], work: Path) -> tuple[subprocess.Popen[bytes], Any]:
    ivr = str(ROOT / ".venv" / "bin" / "ivr")
    subprocess.run([ivr, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    log = (work / "serve.log").open("wb")
    return subprocess.Popen([ivr, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT), log


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


def billing_calls(var: Path) -> int:
    db = next(var.glob("*.db"))
    with sqlite3.connect(db) as conn:
        query = "SELECT COUNT(DISTINCT call_id) FROM call_events WHERE node = 'billing_done'"
        (count,) = conn.execute(query).fetchone()
    return int(count)


async def wait_ready(client: httpx.AsyncClient, url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"ivr serve exited with {server.returncode}:\n{tail(log_path)}")
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit("ivr serve did not start within 60 s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="50,100,200")
    parser.add_argument("--speech", choices=("on", "off"), default="on")
    parser.add_argument("--rate", type=float, default=None, help="new calls per second (default N/4, at least 5)")
    parser.add_argument("--greetings", type=int, default=2, help="greetings the billing node plays (call length)")
    parser.add_argument("--language", choices=("en", "es"), default="en",
                        help="the flow's and the caller's (es: \"facturación\", heard by Whisper as shipped)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.calls.split(",")]
    print("| calls | sipp ok | rss MB peak | rss MB after | rtp p99 ms | right % | p95 ms | shed | decoded "
          "| by stand-in | prompt p99 ms |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    rows = []
    for n in sizes:
        row = await run_one(n, args.speech == "on", args.rate, args.greetings, args.language)
        rows.append(row)
        print(f"| {row.calls} | {row.ok} | {row.rss_peak:.0f} | {row.rss_after:.0f} | {row.rtp_p99_ms:.1f} | "
              f"{row.right:.1%} | {row.p95_ms:.0f} | {row.shed} | {row.decoded} | {row.fell_back} | "
              f"{row.prompt_p99_ms:.0f} |",
              flush=True)
    for row in rows:
        print(f"calls {row.calls}: rss MB {row.rss_peak:.0f}, rtp p99 ms {row.rtp_p99_ms:.1f}, "
              f"right % {row.right * 100:.1f}, p95 ms {row.p95_ms:.0f}, prompt p99 ms {row.prompt_p99_ms:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
