"""[snapshot_volume] on a PVC or PV row: an EBS snapshot of the volume behind it, the runbook's
`aws ec2 create-snapshot --volume-id <id> --description "EcoTrack backup $(date)"`, through the same safety
rules as every action that changes something (ui/remedy.py):

1. the row must be a PVC or a PV (else one line where it works);
2. read-only context → refused before anything is sent (journal "refused"), even with no row selected;
3. GETs only: the PVC → its bound PV → the EBS volume (in-tree awsElasticBlockStore or the ebs.csi.aws.com CSI
   driver; anything else: one line) → `plan_snapshot` (volume id, size, AZ, the description);
4. the confirmation shows the context, the PVC's namespace, the AWS profile and region (critical contexts: type
   the PVC / PV name);
5. journal "requested" → `create_snapshot` (the write gate checks `POST aws:ec2:CreateSnapshot` again) → progress
   said as it moves (state, %) until completed → journal "done" / "failed" with the snapshot id → one line.

Runs in an App worker; AWS calls go through `ecotui.ui.aws_flow`'s `_aws_*` functions.
"""
from __future__ import annotations

import asyncio
from typing import Any

from ecotui.errors import EcotuiError
from ecotui.kinds.registry import by_id
from ecotui.ops.outcome import Outcome, Preview, Target
from ecotui.textsafe import one_line
from ecotui.ui import aws_flow
from ecotui.ui.aws_flow import SNAPSHOT_KINDS, EksTarget, eks_target, explain, region_of_zone
from ecotui.ui.screens.confirm import ConfirmScreen

ACTION = "snapshot_volume"
PROGRESS_EVERY = aws_flow.PROGRESS_EVERY


def progress_text(*args: Any, **kw: Any) -> str:
    """Whatever the data side reports (a progress object, or state and percent) as one short line."""
    if len(args) == 1 and not kw and not isinstance(args[0], (str, int, float)):
        p = args[0]
        state = getattr(p, "state", "") or ""
        pct = getattr(p, "progress", None)
        if pct is None:
            pct = getattr(p, "percent", None)
        pct_text = pct if isinstance(pct, str) else f"{pct:g}%" if isinstance(pct, (int, float)) else ""
        return one_line(" ".join(x for x in (str(state), pct_text) if x), 120)
    parts = [str(a) for a in args] + [f"{v}" for v in kw.values()]
    return one_line(" ".join(p for p in parts if p), 120)


class SnapshotFlow:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.progress = ""
        self.progress_seen: list[str] = []   # every progress line said (tests read it)

    def say(self, text: str, severity: str = "information", timeout: float | None = None) -> None:
        self.app.say(one_line(text, 300), severity=severity, timeout=timeout)

    def request(self, kind: str, keys: list[str]) -> None:
        if kind not in SNAPSHOT_KINDS:
            self.say("snapshot works on PersistentVolumeClaims and PersistentVolumes (:pvc, :pv)", "warning")
            return
        self.app.run_worker(self.run(kind, list(keys)), group="snapshot", exclusive=False, exit_on_error=False)

    async def run(self, kind: str, keys: list[str]) -> None:
        try:
            await self._flow(kind, keys)
        except EcotuiError as exc:
            self.say(f"snapshot: {exc.message}", "error")
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback
            self.say(f"snapshot: {type(exc).__name__}: {one_line(str(exc), 200)}", "error")

    async def _flow(self, kind: str, keys: list[str]) -> None:
        app, ws = self.app, self.app.workspace
        spec = by_id(kind)
        targets = tuple(Target(kind, name, ns) for ns, name in (spec.split_key(k) for k in keys))
        user = await ws.access.user()
        ns = targets[0].namespace if targets else ws.session.namespace
        who = {"context": ws.profile.context, "namespace": ns, "user": user}
        journal = app.journal
        if ws.readonly:
            journal.append("refused", ACTION, targets=targets, reason="read-only", **who)
            names = ", ".join(t.key for t in targets[:3]) or "(no row)"
            self.say(f"read-only: snapshot of {names} not sent (context {ws.profile.context!r} is read-only)",
                     "warning")
            return
        if not targets:
            self.say("snapshot: no row selected", "warning")
            return
        t = targets[0]
        if len(targets) > 1:
            self.say(f"snapshot applies to one volume at a time: using {t.key}", "warning")
        pv, pvc_line = await self._pv_of(t)
        if pv is None:
            self.say(pvc_line, "error")
            return
        pv_name = str((pv.get("metadata") or {}).get("name", ""))
        vol = aws_flow._aws_volume_of(pv)
        if vol is None:
            self.say(f"PV {pv_name} is not an EBS volume ({_source(pv)}): nothing to snapshot", "error")
            return
        volume_id, hint = vol
        base = eks_target(app) or _fallback_target(app)
        region = (region_of_zone(hint) if hint and hint[-1:].isalpha() else hint) or base.region
        target = EksTarget(base.cluster, region, base.profile, base.role_arn, base.source)
        pvc_key = t.key if t.kind == "persistentvolumeclaims" else ""
        try:
            plan = await aws_flow._aws_plan_snapshot(target, volume_id, region, pv=pv_name, pvc=pvc_key,
                                                     context=ws.profile.context)
        except Exception as exc:  # noqa: BLE001 - one line
            self.say(f"snapshot of {volume_id}: {explain(exc, target.profile)}", "error")
            return
        description = str(getattr(plan, "description", ""))
        region = getattr(plan, "region", None) or region
        params = {"volume_id": volume_id, "pv": pv_name, "region": region, "profile": target.profile or "default",
                  "description": description}
        lines: tuple[str, ...] = tuple(str(x) for x in getattr(plan, "preview", None) or ())
        if not any("AWS profile" in line for line in lines):
            lines = (target.where, *lines)
        if pvc_line and not any(pv_name in line for line in lines):
            lines = (*lines, pvc_line)
        if not any(volume_id in line for line in lines):
            lines = (*lines, f"EBS volume {volume_id}")
        if description and not any(description in line for line in lines):
            lines = (*lines, f"description: {description}")
        preview = Preview(ACTION, (t,), tuple(lines), params=params)
        claim = ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace")
        if not await self._confirm(preview, t, t.namespace or claim or "- (cluster-scoped PV)"):
            journal.append("cancelled", ACTION, targets=(t,), params=params, **who)
            self.say("snapshot: cancelled, nothing sent", timeout=3)
            return
        journal.requested(preview, **who)
        self.say(f"snapshot of {volume_id} requested…", timeout=3)
        ticker = asyncio.create_task(self._tick(volume_id))
        try:
            result = await aws_flow._aws_create_snapshot(plan, ws.gate, self._on_progress)
            outcome = _outcome(result, t, volume_id)
        except Exception as exc:  # noqa: BLE001 - journaled as failed, one line
            outcome = Outcome(ACTION, False, f"snapshot of {volume_id} failed: {explain(exc, target.profile)}", (t,))
        finally:
            ticker.cancel()
        if not journal.outcome(preview, outcome, **who):
            self.say(f"could not write the journal: {journal.last_error}", "error")
        self.say(outcome.message, "information" if outcome.ok else "error", 8 if outcome.ok else 12)

    async def _pv_of(self, t: Target) -> tuple[Any, str]:
        """(the PV as plain dicts, a line naming the PVC) or (None, why not): GETs only."""
        session = self.app.workspace.session
        if t.kind == "persistentvolumes":
            return await session.get_object(by_id("persistentvolumes"), None, t.name), ""
        pvc = await session.get_object(by_id("persistentvolumeclaims"), t.namespace, t.name)
        vname = str(((pvc or {}).get("spec") or {}).get("volumeName") or "")
        phase = str(((pvc or {}).get("status") or {}).get("phase") or "")
        if not vname:
            return None, f"PVC {t.key} is not bound to a volume ({phase or 'no status'}): nothing to snapshot"
        pv = await session.get_object(by_id("persistentvolumes"), None, vname)
        return pv, f"PVC {t.key} → PV {vname}"

    async def _confirm(self, preview: Preview, t: Target, namespace: str) -> bool:
        ws = self.app.workspace
        hints = self.app.hints(("confirm", "back"), {"confirm": "snapshot", "back": "cancel"})
        screen = self.app.screen_class(ConfirmScreen)(preview, context=ws.profile.context, namespace=namespace,
                                                      critical=ws.profile.critical, hints=hints)
        return bool(await self.app.push_screen_wait(screen))

    def _on_progress(self, *args: Any, **kw: Any) -> None:
        """The data side's progress callback (maybe from a thread): only remembered here, said by `_tick`."""
        self.progress = progress_text(*args, **kw)

    async def _tick(self, volume_id: str) -> None:
        said = ""
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            now = self.progress
            if now and now != said:
                said = now
                self.progress_seen.append(now)
                self.say(f"snapshot of {volume_id}: {now}", timeout=3)


def _fallback_target(app: Any) -> EksTarget:
    """A context that is not EKS: the first profile of the config's `aws: {profiles}` (else AWS_PROFILE / the
    default chain); the region comes from the volume."""
    profiles, _ = aws_flow.aws_scope(app)
    return EksTarget("", None, next((p for p in profiles if p), None), source="aws config")


def _source(pv: Any) -> str:
    from ecotui.kinds.pvs import source_line
    return source_line(pv.get("spec") or {}) or "no volume source"


def _outcome(result: Any, t: Target, volume_id: str) -> Outcome:
    sid = str(getattr(result, "snapshot_id", "") or getattr(result, "id", "") or "")
    state = str(getattr(result, "state", "") or "")
    ok = getattr(result, "ok", None)
    ok = state == "completed" if ok is None else bool(ok)
    error = str(getattr(result, "error", "") or getattr(result, "message", "") or "")
    details = {"snapshot_id": sid, "state": state, "volume_id": volume_id}
    if ok:
        return Outcome(ACTION, True, f"snapshot {sid} of {volume_id} completed", (t,), details)
    why = f": {one_line(error, 200)}" if error else ""
    return Outcome(ACTION, False, f"snapshot {sid or '(none)'} of {volume_id} {state or 'failed'}{why}", (t,), details)
