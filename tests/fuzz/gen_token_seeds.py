#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_token (tests/fuzz/corpus/token/). Each seed
is a mode byte and a body (see fuzz_token.c): 'T' + a token as a client sends
it (minted with the target's secret, then truncated, tampered, re-headed...),
or 'S' + header JSON '\\n' payload JSON for the target to sign.
Usage: tests/fuzz/gen_token_seeds.py [OUTDIR]   (default: the corpus dir)"""
import base64
import hashlib
import hmac
import json
import os
import sys

SECRET = b"fuzz-secret-0123456789"
NOW = 1700000000
HDR = {"alg": "HS256", "typ": "JWT"}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def enc(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def mint(payload, header=HDR, secret=SECRET):
    signing = b64(enc(header)) + "." + b64(enc(payload))
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "token")
    os.makedirs(outdir, exist_ok=True)
    full = {"room": "demo", "sub": "ann", "pub": True, "subscribe": True, "exp": NOW + 3600}
    good = mint(full)
    h, p, s = good.split(".")
    other_room = b64(enc(dict(full, room="other")))
    tokens = {
        "minted_full": good,
        "minted_no_sub": mint({"room": "r.1", "pub": True, "subscribe": True, "exp": NOW + 60}),
        "minted_no_publish": mint(dict(full, sub="Zoë 🎥", pub=False)),
        "minted_defaults_nbf": mint({"room": "demo", "exp": NOW + 10, "nbf": NOW - 10, "iat": NOW - 10}),
        "expired": mint(dict(full, exp=NOW - 1)),
        "not_yet_valid": mint(dict(full, nbf=NOW + 100)),
        "truncated_signature": good[:-5],
        "truncated_payload": h + "." + p[: len(p) // 2],
        "tampered_room_same_signature": h + "." + other_room + "." + s,
        "signature_flipped": good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1],
        "wrong_secret": mint(full, secret=b"another-secret"),
        "alg_none": b64(enc({"alg": "none", "typ": "JWT"})) + "." + p + ".",
        "alg_hs512": mint(full, header={"alg": "HS512", "typ": "JWT"}),
        "typ_other": mint(full, header={"alg": "HS256", "typ": "JOSE+JSON"}),
        "crit_header": mint(full, header={"alg": "HS256", "crit": ["exp"]}),
        "four_parts": good + ".AAAA",
        "padded_base64": h + "=." + p + "." + s,
        "standard_alphabet": good.replace("-", "+").replace("_", "/") + "+/",
        "non_canonical_tail_bits": h + "." + p + "." + s[:-1] + "B",
        "empty_parts": "..",
        "too_long": "A" * 4097,
    }
    signed = {
        "sign_valid": (HDR, full),
        "sign_exp_float": (HDR, dict(full, exp=NOW + 0.5)),
        "sign_exp_huge": (HDR, dict(full, exp=1e300)),
        "sign_exp_string": (HDR, dict(full, exp=str(NOW + 60))),
        "sign_room_bad_chars": (HDR, dict(full, room="a b/c")),
        "sign_room_too_long": (HDR, dict(full, room="r" * 65)),
        "sign_sub_control": (HDR, dict(full, sub="a\u0001b")),
        "sign_sub_long_utf8": (HDR, dict(full, sub="é" * 40)),
        "sign_pub_string": (HDR, dict(full, pub="true")),
        "sign_payload_array": (HDR, [full]),
        "sign_no_room": (HDR, {"exp": NOW + 60}),
        "sign_no_exp": (HDR, {"room": "demo"}),
    }
    for name, tok in tokens.items():
        with open(os.path.join(outdir, name + ".tok"), "wb") as f:
            f.write(b"T" + tok.encode())
    for name, (hdr, pl) in signed.items():
        with open(os.path.join(outdir, name + ".json"), "wb") as f:
            f.write(b"S" + enc(hdr) + b"\n" + enc(pl))
    with open(os.path.join(outdir, "sign_duplicate_keys.json"), "wb") as f:
        f.write(b'S{"alg":"HS256","alg":"none"}\n{"room":"demo","exp":1800000000}')
    with open(os.path.join(outdir, "sign_nested_payload.json"), "wb") as f:
        f.write(b'S{"alg":"HS256"}\n{"room":"demo","exp":1800000000,"x":' + b"[" * 500 + b"]" * 500 + b"}")


if __name__ == "__main__":
    main()
