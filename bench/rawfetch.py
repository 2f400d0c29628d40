"""The physical floor: a raw paged GET of every pod, bodies discarded. Not a tool; what any client must wait for.

    python -m bench.rawfetch [--limit 500] [--repeat 3]

What it does, exactly:
- One fresh `httpx.Client` (HTTP/1.1, one keep-alive connection; the TLS handshake is inside the clock) with the
  benchmark's own client certificate and CA from its kubeconfig — the same credentials the tools use — against
  the kubeconfig's server, which must be a loopback address.
- Headers as ecotui sends them: `Accept: application/json` and httpx's default `Accept-Encoding` (so the API
  server compresses exactly as it does for ecotui — and for kubectl/k9s, whose Go transport asks for gzip too).
  User agent `ecotui-bench-rawfetch/1`, so the audit-log counts of the tools never include it.
- `GET /api/v1/pods?limit=500`, then `&continue=<token>` until a page has no continue token: sequential pages,
  as every client must do.
- Each body is read off the socket chunk by chunk (`iter_raw`: still compressed) and thrown away. Only the
  first bytes of each page are looked at: they are gunzipped (at most 64 KiB of output) until the list's
  `"metadata":{...}` object — which the API server writes before `"items"` — is complete, and that one small
  object is parsed with `json` to get `metadata.continue` (and, on the first page, `remainingItemCount`, which
  gives the number of pods listed without decoding a single item). Nothing else is decompressed or decoded.
"""
from __future__ import annotations

import ipaddress
import json
import ssl
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HEAD_MAX = 64 * 1024   # decompressed bytes we are willing to look at per page to find the list metadata
MAX_PAGES = 10_000     # 5 million pods at 500/page: a bound, never reached
USER_AGENT = "ecotui-bench-rawfetch/1"
_META = '"metadata":'


class HeadError(RuntimeError):
    pass


class ListHead:
    """Feed a page's raw (possibly gzip/deflate-compressed) chunks; `.metadata` is the list's metadata once
    `.done`. Decompresses at most HEAD_MAX bytes, and nothing after the metadata object is complete."""

    def __init__(self, content_encoding: str = "identity", head_max: int = HEAD_MAX) -> None:
        enc = (content_encoding or "identity").strip().lower()
        if enc in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._z = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header, auto-detected
        elif enc in ("identity", ""):
            self._z = None
        else:
            raise HeadError(f"unsupported Content-Encoding {content_encoding!r}")
        self.head_max = head_max
        self.buf = bytearray()
        self.metadata: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.metadata is not None

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        room = self.head_max - len(self.buf)
        if room <= 0:
            raise HeadError(f"list metadata not found in the first {self.head_max} bytes of the page")
        if self._z is None:
            self.buf += chunk[:room]
        else:
            self.buf += self._z.decompress(chunk, room)  # bounded output; the rest stays compressed
        self._parse()
        if not self.done and len(self.buf) >= self.head_max:
            raise HeadError(f"list metadata not found in the first {self.head_max} bytes of the page")

    def _parse(self) -> None:
        text = self.buf.decode("utf-8", "replace")
        i = text.find(_META)
        if i < 0:
            return
        j = i + len(_META)
        while j < len(text) and text[j] in " \t\r\n":
            j += 1
        try:
            obj, _ = json.JSONDecoder().raw_decode(text, j)
        except ValueError:
            return  # the object is not complete yet
        if not isinstance(obj, dict):
            raise HeadError(f"list metadata is not an object: {text[i:i + 200]!r}")
        self.metadata = obj


@dataclass
class RawFetch:
    seconds: float
    pages: int
    wire_bytes: int          # bytes of the bodies as received (compressed when the server compressed them)
    encoding: str            # Content-Encoding of the pages (the first page's; "mixed" when they differ)
    pods: int | None         # limit + remainingItemCount of the first page (None when the server gave none)
    limit: int
    head_bytes: int          # decompressed bytes looked at, over all pages

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def credentials(kubeconfig: Path) -> tuple[str, ssl.SSLContext]:
    """Server URL and an SSL context with the kubeconfig's CA and client certificate (current context)."""
    import yaml
    kc = yaml.safe_load(kubeconfig.read_text())
    ctx_name = kc["current-context"]
    ctx = next(c["context"] for c in kc["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in kc["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in kc["users"] if u["name"] == ctx["user"])
    server = cluster["server"]
    host = urlsplit(server).hostname or ""
    if not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        raise RuntimeError(f"refusing to fetch from {server}: the benchmark talks to loopback addresses only")
    sslctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
    sslctx.load_cert_chain(user["client-certificate"], user["client-key"])
    return server, sslctx


def fetch(kubeconfig: Path, path: str = "/api/v1/pods", limit: int = 500, timeout: float = 120.0) -> RawFetch:
    import httpx
    server, sslctx = credentials(kubeconfig)
    deadline = time.monotonic() + timeout
    pages = wire = head = 0
    encs: set[str] = set()
    pods: int | None = None
    cont = ""
    t0 = time.monotonic()
    with httpx.Client(base_url=server, verify=sslctx, timeout=timeout,
                      headers={"Accept": "application/json", "User-Agent": USER_AGENT}) as c:
        for _ in range(MAX_PAGES):
            params = {"limit": str(limit), **({"continue": cont} if cont else {})}
            with c.stream("GET", path, params=params) as r:
                if r.status_code != 200:
                    r.read()
                    raise RuntimeError(f"GET {path} page {pages + 1}: HTTP {r.status_code}: {r.text[:300]}")
                enc = r.headers.get("content-encoding", "identity")
                encs.add(enc)
                lh = ListHead(enc)
                for chunk in r.iter_raw():
                    wire += len(chunk)
                    lh.feed(chunk)  # a no-op once the metadata is found
                if lh.metadata is None:
                    raise HeadError(f"GET {path} page {pages + 1}: no list metadata in the body")
                head += len(lh.buf)
            pages += 1
            meta = lh.metadata
            if pages == 1:
                rem = meta.get("remainingItemCount")
                pods = (limit + int(rem)) if rem is not None else None
            cont = meta.get("continue") or ""
            if not cont:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw fetch of {path} not done after {timeout:.0f}s ({pages} pages)")
    secs = time.monotonic() - t0  # pods stays None for a single page: no remainingItemCount, and no item decoded
    return RawFetch(secs, pages, wire, encs.pop() if len(encs) == 1 else "mixed", pods, limit, head)


def main() -> int:
    import argparse
    from .toolenv import prepare
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/ecotui-bench")
    a = ap.parse_args()
    env = prepare(Path(a.workdir))
    for _ in range(max(1, min(a.repeat, 50))):
        r = fetch(env.kubeconfig, limit=a.limit)
        print(f"{r.seconds:.3f}s  {r.pages} pages  {r.wire_bytes / 2**20:.1f} MiB on the wire ({r.encoding})  "
              f"pods≈{r.pods}  looked at {r.head_bytes} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
