"""Load target profiles (``fixtures/targets/*.yaml``) and prompt libraries (``prompts.yaml``).

A profile never holds a secret: passwords, tokens and keys are written as
``${ENV:NAME}`` and become ``Secret("NAME")``, read from the environment only
when a phone or an adapter needs them.  A literal secret is an error, and
its value is blanked out of the snippet that reports it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, cast

from harness.errors import ProfileError
from harness.spec.checker import Checker, mapping
from harness.spec.schema import closest, load_schema, validate
from harness.spec.values import BadValue, parse_digits
from harness.spec.yamlmarks import DataPath, read_marked
from harness.targets.model import (
    Account,
    Doctor,
    DtmfProbe,
    Licence,
    Managed,
    Network,
    Peer,
    PromptLibrary,
    PromptRef,
    RecordedCall,
    Secret,
    Target,
    Tls,
    Transport,
)
from harness.targets.outbound import outbound
from harness.targets.recording_name import template_problem
from harness.targets.seats import seat_accounts

SCHEMA = Path(__file__).with_name("schema.yaml")
PROMPTS_SCHEMA = Path(__file__).with_name("prompts.schema.yaml")

_ENV_REF = re.compile(r"^\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}$")
# access_token, client_secret, api_key, passwd...: but not token_url
_SECRET_KEY = re.compile(
    r"(^|_)(password|passwd|pass|token|secret|api_?key|apikey)$", re.IGNORECASE
)
_SECRET_HINT = "write ${ENV:NAME} and set NAME in the environment"


def load_target(path: Path) -> Target:
    """Load and check a target profile; its prompt library is loaded and checked too.

    Relative paths (the prompt library, TLS files) are resolved against the
    profile's folder.  Raises ``ProfileError`` with every problem found.
    """
    doc = read_marked(path, "a profile needs at least name: and platform: {host: ...}", _SECRET_KEY)
    if not doc.readable:
        raise ProfileError(doc.problems)
    findings = validate(doc, load_schema(SCHEMA))
    chk = Checker(doc, {f.dpath for f in findings})
    target = _target(chk, doc.data) if isinstance(doc.data, dict) else None
    problems = chk.all_problems(findings)
    if problems or target is None:
        raise ProfileError(problems)
    return target


def load_prompt_library(path: Path) -> PromptLibrary:
    """Load a prompt library; every prompt's file must exist (relative to the library).

    Raises ``ProfileError`` with every problem found.
    """
    doc = read_marked(path, empty_hint="a prompt library needs prompts: {ID: {file: ...}}")
    if not doc.readable:
        raise ProfileError(doc.problems)
    findings = validate(doc, load_schema(PROMPTS_SCHEMA))
    chk = Checker(doc, {f.dpath for f in findings})
    prompts = mapping(mapping(doc.data).get("prompts"))
    refs = [_prompt(chk, pid, spec) for pid, spec in prompts.items()]
    problems = chk.all_problems(findings)
    if problems:
        raise ProfileError(problems)
    return PromptLibrary(path, {ref.id: ref for ref in refs if ref is not None})


def _prompt(chk: Checker, pid: str, spec: Any) -> PromptRef | None:
    at = ("prompts", pid)
    fields = mapping(spec)
    file = chk.get(fields, at, "file")
    if file is None:
        return None
    where = chk.file(at + ("file",), file, "a prompt's file")
    return PromptRef(
        pid, where, chk.get(fields, at, "text") or "", chk.get(fields, at, "lang") or ""
    )


def _target(chk: Checker, data: dict[str, Any]) -> Target:
    platform = mapping(data.get("platform"))
    at = ("platform",)
    host = str(chk.get(platform, at, "host") or "")
    transport = chk.get(platform, at, "transport") or "udp"
    managed = chk.get(data, (), "managed") or "none"
    library = _library(chk, chk.get(data, (), "prompts"))
    dids = _dids(chk, data.get("dids"))
    return Target(
        name=str(data.get("name", "")),
        path=chk.doc.path,
        host=host,
        port=chk.get(platform, at, "port") or (5061 if transport == "tls" else 5060),
        transport=cast(Transport, transport),
        domain=chk.get(platform, at, "domain") or host,
        outbound_proxy=chk.get(platform, at, "outbound_proxy"),
        managed=cast(Managed, managed),
        dids=dids,
        accounts=_accounts(chk, data.get("accounts")),
        prompts=library.path if library else None,
        adapter=_adapter(chk, ("adapter",), data.get("adapter") or {}),
        tls=_tls(chk, data.get("tls")),
        peer=_peer(chk, data, managed, library),
        dtmf_method=chk.get(data, (), "dtmf_method") or "rfc4733",
        codecs=tuple(chk.get(data, (), "codecs") or ("PCMU/8000", "PCMA/8000")),
        **_srtp(chk, data, transport),
        licence=_licence(mapping(data.get("licence"))),
        doctor=Doctor(_dtmf_probe(chk, data, dids, library), _recorded_call(chk, data, dids)),
        network=_network(chk, mapping(data.get("network"))),
        seat_accounts=seat_accounts(chk, data),
        outbound=outbound(chk, data),
    )


def _network(chk: Checker, data: dict[str, Any]) -> Network:
    """``network:``; the addresses must be IP literals (a phone binds to, and advertises, an address)."""
    at = ("network",)
    local = chk.get(data, at, "local_address") or "auto"
    public = chk.get(data, at, "public_address")
    for key, value in (("local_address", local), ("public_address", public)):
        if isinstance(value, str) and value != "auto" and not _ip(value):
            chk.report(at + (key,), f"'{value}' is not an IP address",
                       "auto, or the address itself, e.g. 192.0.2.10" if key == "local_address"
                       else "the NAT's public IP address, e.g. 203.0.113.7")
    if public == "auto":
        chk.report(at + ("public_address",), "'auto' is not an IP address",
                   "to find the public address by itself, give stun: [stun.example.net:3478]")
    stun = tuple(str(s) for s in chk.get(data, at, "stun") or ())
    return Network(str(local), str(public) if public else None, stun)


def _ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _dtmf_probe(chk: Checker, data: dict[str, Any], dids: dict[str, str],
                library: PromptLibrary | None) -> DtmfProbe | None:
    """``doctor.dtmf_probe``: its DID must be one of ``dids:``, its prompts in the library."""
    at = ("doctor", "dtmf_probe")
    probe = mapping(mapping(data.get("doctor")).get("dtmf_probe"))
    if not probe:
        return None
    did = chk.get(probe, at, "did")
    if isinstance(did, str) and did not in dids and chk.clean(("dids",)):
        hint = f"{closest(did, sorted(dids))}the profile's dids: {', '.join(dids) or 'none'}"
        chk.report(at + ("did",), f"'{did}' is not one of the profile's dids", hint)
    prompts = {key: chk.get(probe, at, key) for key in ("expect_prompt", "after_prompt")}
    for key, pid in prompts.items():
        if isinstance(pid, str):
            _check_prompt(chk, at + (key,), pid, library, "prompts" in data)
    within = chk.duration(at + ("within",), chk.get(probe, at, "within"))
    digits = _digits(chk, at + ("digits",), chk.get(probe, at, "digits"))
    return DtmfProbe(did=str(did or ""), digits=digits, expect_prompt=str(prompts["expect_prompt"] or ""),
                     within=within or 10.0, after_prompt=prompts["after_prompt"])


def _recorded_call(chk: Checker, data: dict[str, Any], dids: dict[str, str]) -> RecordedCall:
    """``doctor.recorded_call``: its DID one of ``dids:``, its agent one of ``accounts:``."""
    at = ("doctor", "recorded_call")
    spec = mapping(mapping(data.get("doctor")).get("recorded_call"))
    did, agent = chk.get(spec, at, "did"), chk.get(spec, at, "agent")
    if isinstance(did, str) and did not in dids and chk.clean(("dids",)):
        hint = f"{closest(did, sorted(dids))}the profile's dids: {', '.join(dids) or 'none'}"
        chk.report(at + ("did",), f"'{did}' is not one of the profile's dids", hint)
    accounts = sorted(mapping(data.get("accounts")))
    if isinstance(agent, str) and agent not in accounts:
        hint = f"{closest(agent, accounts)}the profile's accounts: {', '.join(accounts) or 'none'}"
        chk.report(at + ("agent",), f"'{agent}' is not one of the profile's accounts", hint)
    hold = chk.duration(at + ("hold",), chk.get(spec, at, "hold"))
    return RecordedCall(did, agent, hold or 3.0)


def _digits(chk: Checker, dpath: DataPath, value: Any) -> str:
    if value is None:
        return ""
    text = chk.text(dpath, value)
    try:
        return parse_digits(text)
    except BadValue as bad:
        chk.report(dpath, bad.message, bad.hint)
        return text


def _licence(data: dict[str, Any]) -> Licence:
    return Licence(kind=data.get("kind", "nationwide"), applicant=str(data.get("applicant", "")),
                   platform=str(data.get("platform", "")), seats=data.get("seats"))


def _library(chk: Checker, name: str | None) -> PromptLibrary | None:
    if name is None:
        return None
    path = Path(os.path.normpath(chk.doc.path.parent / name))
    if not path.is_file():
        chk.report(
            ("prompts",), f"no such file: {path}", "prompts: is relative to the profile's folder"
        )
        return None
    try:
        return load_prompt_library(path)
    except ProfileError as err:
        chk.problems.extend(err.problems)
        return None


def _dids(chk: Checker, dids: Any) -> dict[str, str]:
    if not isinstance(dids, dict):
        return {}
    return {
        name: chk.text(("dids", name), number)
        for name, number in dids.items()
        if chk.clean(("dids", name))
    }


def _accounts(chk: Checker, accounts: Any) -> dict[str, Account]:
    if not isinstance(accounts, dict):
        return {}
    return {name: _account(chk, ("accounts", name), name, spec) for name, spec in accounts.items()}


def _account(chk: Checker, at: DataPath, name: str, spec: Any) -> Account:
    fields = mapping(spec)
    username, auth_user = (chk.get(fields, at, k) for k in ("username", "auth_user"))
    register = chk.get(fields, at, "register")
    return Account(
        name=name,
        username=chk.text(at + ("username",), username) if username is not None else "",
        domain=chk.get(fields, at, "domain"),
        auth_user=chk.text(at + ("auth_user",), auth_user) if auth_user is not None else None,
        password=_secret(chk, at + ("password",), fields.get("password")),
        register=True if register is None else register,
    )


def _secret(chk: Checker, dpath: DataPath, value: Any) -> Secret | None:
    """``${ENV:NAME}`` -> ``Secret("NAME")``; anything else but null is a literal secret."""
    if value is None:
        return None
    match = _ENV_REF.match(value) if isinstance(value, str) else None
    if match:
        return Secret(match.group(1))
    if isinstance(value, str) and value.startswith("${"):
        chk.report(
            dpath, "not a valid ${ENV:NAME} reference", "NAME uses A-Z, 0-9 and _", redact=True
        )
    else:
        message = f"a literal {dpath[-1]} is not allowed in a profile"
        chk.report(dpath, message, _SECRET_HINT, redact=True)
    return None


def _adapter(chk: Checker, at: DataPath, value: Any) -> Any:
    """The adapter mapping as written, with every ``${ENV:NAME}`` made a ``Secret``."""
    if isinstance(value, dict):
        return {k: _adapter_entry(chk, at + (k,), k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_adapter(chk, at + (i,), v) for i, v in enumerate(value)]
    match = _ENV_REF.match(value) if isinstance(value, str) else None
    return Secret(match.group(1)) if match else value


def _adapter_entry(chk: Checker, at: DataPath, key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and not isinstance(value, (dict, list)):
        return _secret(chk, at, value)
    if key == "recording_name" and isinstance(value, str) and chk.clean(at):
        problem = template_problem(value)
        if problem:
            chk.report(at, problem, "e.g. rec-{call_id|alnum} for a dialplan that names "
                       "rec-${FILTER(0-9A-Za-z,${CHANNEL(pjsip,call-id)})}; ccharness doctor "
                       "names the template that finds a test call's recording")
    return _adapter(chk, at, value)


def _tls(chk: Checker, spec: Any) -> Tls:
    fields = mapping(spec)
    at = ("tls",)
    files = {}
    for key in ("ca_file", "cert_file", "key_file"):
        name = chk.get(fields, at, key)
        files[key] = chk.file(at + (key,), name, "a TLS file") if name is not None else None
    verify = chk.get(fields, at, "verify")
    return Tls(**files, verify=True if verify is None else verify)


def _srtp(chk: Checker, data: dict[str, Any], transport: str) -> dict[str, Any]:
    """``srtp`` (YAML reads a bare ``off`` as false) and ``srtp_signaling``, which must fit the transport."""
    srtp = chk.get(data, (), "srtp")
    mode = "off" if srtp in (None, False) else srtp
    signaling = chk.get(data, (), "srtp_signaling") or "tls"
    if mode != "off" and signaling == "tls" and transport != "tls":  # PJSIP refuses such calls
        chk.report(("srtp",), f"srtp: {mode} sends its keys only over transport tls, not {transport}",
                   "set platform.transport: tls, or srtp_signaling: any to send the keys in clear")
    return {"srtp": mode, "srtp_signaling": signaling}


def _peer(
    chk: Checker, data: dict[str, Any], managed: str, library: PromptLibrary | None
) -> Peer | None:
    """The loopback peer; checked whenever written, kept only with ``managed: peer``."""
    if "peer" in data and managed != "peer":
        chk.report(
            ("peer",),
            f"only used with managed: peer, not {managed}",
            "remove peer:, or set managed: peer",
        )
    at = ("peer",)
    fields = mapping(data.get("peer"))
    prompt = chk.get(fields, at, "prompt")
    on_dtmf = mapping(fields.get("on_dtmf"))
    uses: list[tuple[DataPath, Any]] = [(at + ("prompt",), prompt)] + [
        (at + ("on_dtmf", d), p) for d, p in on_dtmf.items()
    ]
    for where, pid in uses:
        if isinstance(pid, str) and chk.clean(where):
            _check_prompt(chk, where, pid, library, "prompts" in data)
    answer_after = chk.duration(at + ("answer_after",), chk.get(fields, at, "answer_after"), True)
    files = {k: chk.file(at + (k,), name, "a TLS file") if (name := chk.get(fields, at, k)) else None
             for k in ("cert_file", "key_file")}
    if managed != "peer":
        return None
    return Peer(answer_after, prompt, dict(on_dtmf), **files)


def _check_prompt(
    chk: Checker, dpath: DataPath, pid: str, library: PromptLibrary | None, named: bool
) -> None:
    if library is None:
        if not named:  # a named library that failed has said why already
            chk.report(dpath, "no prompt library: set prompts: in the profile", once=True)
        return
    known = sorted(library.prompts)
    if pid not in library.prompts:
        hint = f"{closest(pid, known)}prompts come from {library.path}"
        chk.report(dpath, f"'{pid}' is not one of {known!r}", hint)
