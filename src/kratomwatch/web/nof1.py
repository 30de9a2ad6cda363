"""N-of-1 trial pages: the clinician's list, design form and trial page (signatures, start, stop, schedule,
adherence, results with the chart, the patient card and the letter PDF); the patient's trial page (sign, the
running view, withdraw), the patient card page and the card on the patient's home page.

Views only. Access: the clinician pages are anchored on the patient (``access.get_care_patient_for``: 404 for a
patient one may not see, 403 for one who is not the care team; writes ``access.get_writable_patient_for``: care
team and care consent), the patient pages on the login's own record (``access.get_own_patient_for``); the trial is
then looked up among that patient's trials (``nof1.queries.trials_of``), so a trial of another patient is "not
found" like a missing one. Writes through ``nof1.actions``. The form parsing of the design is here (this area's
only form with rows of conditions); its errors are worded for a clinician, never a field name.

A blinded trial's order (and anything that would reveal it: the condition of a period, its target, the results by
condition) is shown to no one until the trial ends (``nof1.results.schedule_hidden``). The pages measure and
report; they never propose a condition, a target or a dose.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.core import instruments as ins
from kratomwatch.core import nof1_card
from kratomwatch.core.errors import Conflict, InputError, NotFound
from kratomwatch.nof1 import actions, chart, queries, results
from kratomwatch.nof1.letter_pdf import card_description, letter_pdf, outcome_words
from kratomwatch.nof1.models import Trial, TrialStatus
from kratomwatch.nof1.pdf import protocol_pdf
from kratomwatch.records.models import Patient
from kratomwatch.web.security import clinician_required, login_and_access

CONDITION_ROWS_MIN = 3
SECONDARY_ROWS = 2
CHART_WIDTH = 720
PHONE_CHART_WIDTH = 380
RESULT_ON_HOME = dt.timedelta(days=90)
"""How long an ended trial's result stays on the patient's home page (it stays on the trial page)."""

FIELD_WORDS = {
    "title": "Title",
    "question": "The question",
    "conditions": "Conditions",
    "reference": "Reference condition",
    "primary_instrument": "Primary outcome",
    "lower_is_better": "Which direction is better",
    "measure_every_days": "Primary outcome: every how many days",
    "secondary_instruments": "Other outcomes",
    "mcid": "Smallest important difference (MCID)",
    "mcid_source": "Source of the MCID",
    "period_days": "Period length",
    "blocks": "Number of blocks",
    "washout_days": "Washout",
    "run_in_days": "Run-in",
    "stopping_rules": "Stopping rules",
    "seed": "Randomization",
    "start_date": "Start date",
    "reason": "Reason",
    "signed_name": "Your name",
    "status": "Trial",
    "clinician_signed_at": "Signatures",
    "trial": "Trial",
}
CONDITION_WORDS = {
    "code": "short code",
    "label": "name",
    "description": "what the patient does",
    "target_mitragynine_mg": "daily mitragynine target (mg)",
    "target_seven_oh_mg": "daily 7-OH target (mg)",
}
SECONDARY_WORDS = {"instrument_id": "questionnaire", "every_days": "every how many days"}


# --- the design form -------------------------------------------------------------------------------------------


@dataclass
class DesignForm:
    """The design form as typed (to show it again) and what parsed. ``errors`` maps a form field name to a message;
    a condition's field is ``conditions.<row>.<field>``, a secondary outcome's ``secondary.<row>.<field>``."""

    values: dict[str, str] = field(default_factory=dict)
    conditions: list[dict[str, str]] = field(default_factory=list)
    secondary: list[dict[str, str]] = field(default_factory=list)
    reference_row: str = "0"
    errors: dict[str, str] = field(default_factory=dict)
    design: actions.TrialIn | None = None
    condition_rows: list[int] = field(default_factory=list)  # form row of each parsed condition
    secondary_rows: list[int] = field(default_factory=list)


def _rows(post: Any, prefix: str, names: tuple[str, ...]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{prefix}\.(\d{{1,2}})\.(\w+)$")
    for key in post:
        m = pattern.match(str(key))
        if m and m.group(2) in names:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = str(post.get(key, "")).strip()
    return dict(sorted(found.items()))


def _whole(form: DesignForm, name: str, what: str, *, default: int | None = None) -> int | None:
    raw = form.values.get(name, "")
    if raw == "" and default is not None:
        return default
    if raw == "":
        form.errors[name] = f"enter {what}"
        return None
    if not re.fullmatch(r"\d{1,4}", raw):
        form.errors[name] = f"{what[0].upper()}{what[1:]} must be a whole number, such as 7; you typed {raw!r}"
        return None
    return int(raw)


def _mg_value(form: DesignForm, name: str, raw: str) -> float | None:
    if raw == "":
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        form.errors[name] = f"a number of mg per day, such as 40; you typed {raw!r}"
        return None
    if not math.isfinite(value) or value < 0:
        form.errors[name] = "a number of mg per day, 0 or more"
        return None
    return value


TEXT_FIELDS = (
    "title",
    "question",
    "primary_instrument",
    "lower_is_better",
    "measure_every_days",
    "mcid",
    "mcid_source",
    "period_days",
    "blocks",
    "washout_days",
    "run_in_days",
    "stopping_rules",
)
CONDITION_FIELDS = ("code", "label", "description", "target_mitragynine_mg", "target_seven_oh_mg")


def parse_design(post: Any) -> DesignForm:
    """The design form's POST -> :class:`DesignForm` (``design`` set when every field parsed). Never raises."""
    form = DesignForm(values={name: str(post.get(name, "")).strip() for name in TEXT_FIELDS})
    form.values["mcid_program_choice"] = "on" if post.get("mcid_program_choice") else ""
    form.values["blinded"] = "on" if post.get("blinded") else ""
    form.reference_row = str(post.get("reference", "")).strip()
    conditions = _rows(post, "conditions", CONDITION_FIELDS)
    form.conditions = [{"row": str(i), **{n: r.get(n, "") for n in CONDITION_FIELDS}} for i, r in conditions.items()]
    parsed: list[actions.ConditionIn] = []
    for i, r in conditions.items():
        if not any(r.get(n) for n in CONDITION_FIELDS):
            continue
        mit = _mg_value(form, f"conditions.{i}.target_mitragynine_mg", r.get("target_mitragynine_mg", ""))
        oh = _mg_value(form, f"conditions.{i}.target_seven_oh_mg", r.get("target_seven_oh_mg", ""))
        parsed.append(
            actions.ConditionIn(
                code=r.get("code", ""),
                label=r.get("label", ""),
                description=r.get("description", ""),
                is_reference=form.reference_row == str(i),
                target_mitragynine_mg=mit,
                target_seven_oh_mg=oh,
            )
        )
        form.condition_rows.append(i)
    if len(parsed) < 2:
        form.errors["conditions"] = "describe at least two conditions to compare (one of them the reference)"
    elif not any(c.is_reference for c in parsed):
        form.errors["reference"] = "choose which condition is the reference the others are compared to"
    secondary = _rows(post, "secondary", ("instrument_id", "every_days"))
    form.secondary = [
        {"row": str(i), "instrument_id": r.get("instrument_id", ""), "every_days": r.get("every_days", "")}
        for i, r in secondary.items()
    ]
    pairs: list[tuple[str, int]] = []
    for i, r in secondary.items():
        if not r.get("instrument_id"):
            continue
        raw = r.get("every_days", "") or "1"
        if not re.fullmatch(r"\d{1,3}", raw):
            form.errors[f"secondary.{i}.every_days"] = f"a whole number of days, such as 7; you typed {raw!r}"
            continue
        pairs.append((r["instrument_id"], int(raw)))
        form.secondary_rows.append(i)
    period = _whole(form, "period_days", "the period length in days")
    blocks = _whole(form, "blocks", "the number of blocks")
    washout = _whole(form, "washout_days", "the washout in days", default=0)
    run_in = _whole(form, "run_in_days", "the run-in in days", default=0)
    every = _whole(form, "measure_every_days", "every how many days the primary outcome is measured", default=1)
    mcid: float | None = None
    raw_mcid = form.values["mcid"]
    if raw_mcid:
        try:
            mcid = float(raw_mcid.replace(",", "."))
        except ValueError:
            form.errors["mcid"] = f"a difference in the outcome's points, such as 2; you typed {raw_mcid!r}"
    if not form.values["primary_instrument"]:
        form.errors["primary_instrument"] = "choose the questionnaire that measures the primary outcome"
    if form.errors or period is None or blocks is None or washout is None or run_in is None or every is None:
        return form
    form.design = actions.TrialIn(
        title=form.values["title"],
        question=form.values["question"],
        conditions=parsed,
        primary_instrument=form.values["primary_instrument"],
        lower_is_better=form.values["lower_is_better"] != "higher",
        measure_every_days=every,
        secondary_instruments=pairs,
        mcid=mcid,
        mcid_source=form.values["mcid_source"],
        mcid_program_choice=bool(form.values["mcid_program_choice"]),
        period_days=period,
        blocks=blocks,
        washout_days=washout,
        run_in_days=run_in,
        blinded=bool(form.values["blinded"]),
        stopping_rules=[r.strip() for r in form.values["stopping_rules"].splitlines() if r.strip()],
    )
    return form


def _action_error(form: DesignForm, exc: InputError) -> None:
    """An action's refusal, placed next to the field it names (a condition's row, a secondary outcome's row)."""
    parts = exc.field.split(".")
    if len(parts) >= 2 and not parts[1].isdigit():
        parts = parts[:1]
    if parts[0] == "conditions" and len(parts) == 3 and int(parts[1]) < len(form.condition_rows):
        form.errors[f"conditions.{form.condition_rows[int(parts[1])]}.{parts[2]}"] = exc.message
    elif parts[0] == "conditions" and len(parts) == 2 and int(parts[1]) < len(form.condition_rows):
        form.errors[f"conditions.{form.condition_rows[int(parts[1])]}.code"] = exc.message
    elif parts[0] == "secondary_instruments" and len(parts) >= 2 and int(parts[1]) < len(form.secondary_rows):
        sub = parts[2] if len(parts) == 3 else "instrument_id"
        form.errors[f"secondary.{form.secondary_rows[int(parts[1])]}.{sub}"] = exc.message
    elif parts[0] == "stopping_rules":
        form.errors["stopping_rules"] = exc.message
    else:
        form.errors[parts[0] if parts[0] in FIELD_WORDS else "form"] = exc.message


def error_words(name: str) -> str:
    """The words for a form field in an error summary: never the field's name."""
    parts = name.split(".")
    if len(parts) == 3 and not parts[1].isdigit():
        parts = parts[:1]
    if parts[0] == "conditions" and len(parts) == 3:
        return f"Condition {int(parts[1]) + 1}, {CONDITION_WORDS.get(parts[2], 'entry')}"
    if parts[0] == "secondary" and len(parts) == 3:
        return f"Other outcome {int(parts[1]) + 1}, {SECONDARY_WORDS.get(parts[2], 'entry')}"
    return FIELD_WORDS.get(parts[0], "The design")


def _form_from_trial(trial: Trial) -> DesignForm:
    conditions = queries.conditions_of(trial)
    form = DesignForm(
        values={
            "title": trial.title,
            "question": trial.question,
            "primary_instrument": trial.primary_instrument,
            "lower_is_better": "lower" if trial.lower_is_better else "higher",
            "measure_every_days": str(trial.measure_every_days),
            "mcid": "" if trial.mcid is None else f"{trial.mcid:g}",
            "mcid_source": "" if trial.mcid_source == actions.PROGRAM_CHOICE else trial.mcid_source,
            "mcid_program_choice": "on" if trial.mcid_program_choice else "",
            "period_days": str(trial.period_days),
            "blocks": str(trial.blocks),
            "washout_days": str(trial.washout_days),
            "run_in_days": str(trial.run_in_days),
            "blinded": "on" if trial.blinded else "",
            "stopping_rules": "\n".join(trial.stopping_rules),
        },
        conditions=[
            {
                "row": str(i),
                "code": c.code,
                "label": c.label,
                "description": c.description,
                "target_mitragynine_mg": "" if c.target_mitragynine_mg is None else f"{c.target_mitragynine_mg:g}",
                "target_seven_oh_mg": "" if c.target_seven_oh_mg is None else f"{c.target_seven_oh_mg:g}",
            }
            for i, c in enumerate(conditions)
        ],
        secondary=[
            {"row": str(i), "instrument_id": s["instrument_id"], "every_days": str(s["every_days"])}
            for i, s in enumerate(trial.secondary_instruments)
        ],
        reference_row=str(next((i for i, c in enumerate(conditions) if c.is_reference), 0)),
    )
    return form


def _blank_form() -> DesignForm:
    return DesignForm(
        values={"measure_every_days": "1", "washout_days": "0", "run_in_days": "0", "lower_is_better": "lower"},
        conditions=[
            {"row": "0", "code": "A"},
            {"row": "1", "code": "B"},
        ],
    )


def _padded(rows: list[dict[str, str]], minimum: int) -> list[dict[str, str]]:
    """The rows as typed, then blank rows (numbered after the highest) up to ``minimum``."""
    out = list(rows)
    nxt = max((int(r["row"]) for r in out), default=-1) + 1
    while len(out) < minimum:
        out.append({"row": str(nxt)})
        nxt += 1
    return out


def _form_rows(form: DesignForm) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The condition and secondary rows to show (at least ``CONDITION_ROWS_MIN`` conditions), each with its errors."""
    cond_rows = [
        {
            **{n: r.get(n, "") for n in CONDITION_FIELDS},
            "row": r["row"],
            "number": k + 1,
            "reference": form.reference_row == r["row"],
            "errors": {n: form.errors.get(f"conditions.{r['row']}.{n}", "") for n in CONDITION_FIELDS},
        }
        for k, r in enumerate(_padded(form.conditions, CONDITION_ROWS_MIN))
    ]
    sec_rows = [
        {
            "row": r["row"],
            "number": k + 1,
            "instrument_id": r.get("instrument_id", ""),
            "every_days": r.get("every_days", ""),
            "errors": {n: form.errors.get(f"secondary.{r['row']}.{n}", "") for n in SECONDARY_WORDS},
        }
        for k, r in enumerate(_padded(form.secondary, SECONDARY_ROWS))
    ]
    return cond_rows, sec_rows


def _instrument_choices() -> list[dict[str, Any]]:
    out = []
    for d in ins.all_definitions():
        published = results.published_mcid(d.id)
        out.append(
            {
                "id": d.id,
                "title": d.title,
                "mcid": None if published is None else {"value": f"{published[0]:g}", "source": published[1]},
            }
        )
    return out


def _design_context(patient: Patient, form: DesignForm, trial: Trial | None) -> dict[str, Any]:
    cond_rows, sec_rows = _form_rows(form)
    today = patient.local_today()
    target = results.care_plan_target(patient, today)
    return {
        "p": patient,
        "trial": trial,
        "form": form,
        "v": form.values,
        "errors": form.errors,
        "error_list": [(error_words(k), m) for k, m in form.errors.items()],
        "condition_rows": cond_rows,
        "secondary_rows": sec_rows,
        "instruments": _instrument_choices(),
        "care_plan_target": target,
        "today": today,
    }


def _save_design(request: HttpRequest, code: str, trial: Trial | None) -> HttpResponse:
    form = parse_design(request.POST)
    patient = access.get_writable_patient_for(request.user, code)
    if trial is not None:
        trial = _trial_of(patient, trial.pk)
    if form.design is not None:
        try:
            if trial is None:
                trial = actions.create_trial(
                    actor=Actor.of(request.user), patient=patient, user=request.user, design=form.design
                )
            else:
                trial = actions.update_trial(
                    actor=Actor.of(request.user), trial=trial, user=request.user, design=form.design
                )
        except InputError as exc:
            _action_error(form, exc)
        except Conflict as exc:
            form.errors["status"] = exc.message
        else:
            return redirect(reverse("clinic-nof1-trial", args=[patient.code, trial.pk]) + "?saved=design")
    context = _design_context(patient, form, trial)
    return render(request, "web/nof1/design.html", context, status=400)


def _trial_of(patient: Patient, pk: int) -> Trial:
    trial = queries.trials_of(patient).filter(pk=pk).first()
    if trial is None:
        raise NotFound("trial", pk, "no such n-of-1 trial for this patient")
    return trial


@clinician_required
def trial_list(request: HttpRequest, code: str) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_trials")
    trials = list(queries.trials_of(patient))
    return render(request, "web/nof1/list.html", {"p": patient, "trials": trials})


@clinician_required
@require_http_methods(["GET", "POST"])
def design_new(request: HttpRequest, code: str) -> HttpResponse:
    if request.method == "POST":
        return _save_design(request, code, None)
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_design")
    return render(request, "web/nof1/design.html", _design_context(patient, _blank_form(), None))


@clinician_required
@require_http_methods(["GET", "POST"])
def design_edit(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_design")
    trial = _trial_of(patient, pk)
    if trial.status != TrialStatus.DRAFT:
        return redirect("clinic-nof1-trial", patient.code, trial.pk)
    if request.method == "POST":
        return _save_design(request, code, trial)
    return render(request, "web/nof1/design.html", _design_context(patient, _form_from_trial(trial), trial))


# --- the trial page --------------------------------------------------------------------------------------------


SAVED = {
    "design": "Design saved.",
    "sign": "Protocol signed. The patient can now read and sign it on their home page.",
    "start": "Trial started: the periods are dated and the questionnaires scheduled.",
    "stop": "Trial stopped.",
}


def _conditions(trial: Trial) -> list[tuple[str, str]]:
    """(code, label), the reference first."""
    cs = queries.conditions_of(trial)
    return [(c.code, c.label) for c in sorted(cs, key=lambda c: (not c.is_reference, c.code))]


def chart_svg(trial: Trial, res: results.TrialResults, *, today: dt.date | None = None) -> str:
    """The trial chart twice, wide and narrow (``web/nof1.css`` shows one by the screen's width, so a phone gets
    legible text), then its numbers as a table."""
    name, _, top = outcome_words(trial.primary_instrument)
    hidden = results.schedule_hidden(trial)
    drawn = [
        chart.trial_chart(
            res.series,
            conditions=_conditions(trial),
            outcome_title=name,
            outcome_max=top,
            lower_is_better=trial.lower_is_better,
            blinded=hidden,
            width=width,
            font_size=font,
            today=today,
        )
        for width, font in ((CHART_WIDTH, 11), (PHONE_CHART_WIDTH, 11))
    ]
    return (
        f'<div class="nof1-chart-wide">{drawn[0]}</div><div class="nof1-chart-narrow">{drawn[1]}</div>'
        + chart.data_table(res.series, outcome_title=name, blinded=hidden)
    )


def _complete_if_due(request: HttpRequest, trial: Trial) -> Trial:
    """A running trial whose last period is over is marked completed when its page is opened (the action is
    idempotent and audited)."""
    if trial.status == TrialStatus.ACTIVE:
        trial = actions.complete_if_ended(actor=Actor.of(request.user), trial=trial, today=trial.patient.local_today())
    return trial


def _adherence_rows(trial: Trial, res: results.TrialResults) -> list[dict[str, Any]]:
    hidden = results.schedule_hidden(trial)
    labels = dict(_conditions(trial))
    return [
        {
            "position": a.position,
            "condition": None if hidden else f"{a.condition}: {labels.get(a.condition, a.condition)}",
            "days": a.days,
            "days_with_doses": a.days_with_doses,
            "mitragynine_mg": a.mitragynine_mg,
            "seven_oh_mg": a.seven_oh_mg,
            "target_mitragynine_mg": None if hidden else a.target_mitragynine_mg,
            "target_seven_oh_mg": None if hidden else a.target_seven_oh_mg,
            "deviation": (
                None
                if a.deviation is None
                else "the measured mg differs from this period's target (details when the trial ends)"
                if hidden
                else a.deviation
            ),
        }
        for a in res.adherence
    ]


def _estimates(trial: Trial, res: results.TrialResults) -> list[dict[str, Any]]:
    a = res.analysis
    if a is None or results.schedule_hidden(trial):
        return []
    labels = dict(_conditions(trial))
    return [
        {
            "condition": f"{name}: {labels.get(name, name)}",
            "effect": b.effect,
            "low": b.interval_95[0],
            "high": b.interval_95[1],
            "prob_better": b.prob_better,
            "prob_better_by_mcid": b.prob_better_by_mcid,
            "n_days_used": b.n_days_used,
            "gls": a.frequentist[name],
        }
        for name, b in a.bayes.items()
    ]


def _card(trial: Trial, res: results.TrialResults) -> nof1_card.Card | None:
    if res.analysis is None or not results.ended(trial):
        return None
    return nof1_card.patient_card(res.analysis, card_description(trial, res))


def _trial_context(trial: Trial, **extra: Any) -> dict[str, Any]:
    today = trial.patient.local_today()
    res = results.analyse_trial(trial) if trial.status in (TrialStatus.ACTIVE, *ENDED) else None
    hidden = results.schedule_hidden(trial)
    periods = [] if hidden else queries.periods_of(trial)
    context: dict[str, Any] = {
        "p": trial.patient,
        "trial": trial,
        "pc": results.protocol_context(trial),
        "hidden": hidden,
        "ended": results.ended(trial),
        "periods": periods,
        "today": today,
        "now_view": results.today_view(trial, today) if trial.status == TrialStatus.ACTIVE else None,
        "review": results.stopping_review(trial),
        "res": res,
        "adherence": _adherence_rows(trial, res) if res else [],
        "tolerance": f"{results.adherence_tolerance(trial) * 100:g}",
        "estimates": _estimates(trial, res) if res else [],
        "card": _card(trial, res) if res else None,
        "chart": mark_safe(chart_svg(trial, res, today=today)) if res and res.series else "",  # noqa: S308 - escaped by nof1.chart
        "errors": {},
        "start_default": today.isoformat(),
    }
    context.update(extra)
    return context


ENDED = (TrialStatus.COMPLETED, TrialStatus.STOPPED)


@clinician_required
@require_http_methods(["GET", "POST"])
def trial_page(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    if request.method == "POST":
        return _trial_post(request, code, pk)
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_trial")
    trial = _complete_if_due(request, _trial_of(patient, pk))
    context = _trial_context(trial, saved=SAVED.get(request.GET.get("saved", ""), ""))
    return render(request, "web/nof1/trial.html", context)


def _trial_post(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_writable_patient_for(request.user, code)
    trial = _trial_of(patient, pk)
    what = request.POST.get("action", "")
    actor = Actor.of(request.user)
    errors: dict[str, str] = {}
    values = {"start_date": request.POST.get("start_date", ""), "reason": request.POST.get("reason", "")}
    try:
        if what == "sign":
            actions.sign_as_clinician(actor=actor, trial=trial, user=request.user)
        elif what == "start":
            raw = values["start_date"].strip()
            try:
                start = dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                raise InputError(
                    "start_date", raw, f"{raw!r} is not a date: use the date picker (YYYY-MM-DD)"
                ) from None
            actions.start_trial(actor=actor, trial=trial, user=request.user, start_date=start)
        elif what == "stop":
            if request.POST.get("confirm") != "yes":
                raise InputError("confirm", "", "tick the box to confirm that the trial stops now")
            actions.stop_trial(actor=actor, trial=trial, user=request.user, reason=values["reason"])
        else:
            raise InputError("action", what, "unknown action")
    except (InputError, Conflict) as exc:
        errors[exc.field] = exc.message
        errors["any"] = f"{FIELD_WORDS.get(exc.field, 'This step')}: {exc.message}"
        trial.refresh_from_db()
        context = _trial_context(trial, errors=errors, values=values, failed=what)
        return render(request, "web/nof1/trial.html", context, status=409 if isinstance(exc, Conflict) else 400)
    return redirect(reverse("clinic-nof1-trial", args=[patient.code, trial.pk]) + f"?saved={what}")


@clinician_required
def letter(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_letter")
    trial = _trial_of(patient, pk)
    if not results.ended(trial):  # an old link: the trial page says where the trial stands
        return redirect("clinic-nof1-trial", patient.code, trial.pk)
    pdf = letter_pdf(trial, results.analyse_trial(trial))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="nof1-letter-{patient.code}-{trial.pk}.pdf"'
    return response


def _protocol_response(trial: Trial) -> HttpResponse:
    pdf = bytes(trial.protocol_pdf) if trial.protocol_pdf else protocol_pdf(trial)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="nof1-protocol-{trial.patient.code}-{trial.pk}.pdf"'
    return response


@clinician_required
def protocol(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_protocol")
    return _protocol_response(_trial_of(patient, pk))


@clinician_required
def card_page_clinician(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    patient = access.get_care_patient_for(request.user, code, purpose="nof1_card")
    return _card_page(request, _trial_of(patient, pk), clinician=True)


# --- the patient's pages ----------------------------------------------------------------------------------------


def awaiting_patient(trial: Trial) -> bool:
    return trial.status == TrialStatus.DRAFT and trial.clinician_signed_at is not None and bool(trial.protocol_sha256)


def home_cards(patient: Patient) -> list[dict[str, Any]]:
    """The trial cards of the patient's home page: a trial awaiting their signature, a running one (with today's
    condition and measures), and a result to read (a trial ended in the last 90 days)."""
    today = patient.local_today()
    now = timezone.now()
    cards: list[dict[str, Any]] = []
    for trial in queries.trials_of(patient)[:10]:
        url = reverse("patient-nof1", args=[trial.pk])
        if awaiting_patient(trial):
            cards.append({"kind": "sign", "trial": trial, "url": url})
        elif trial.status == TrialStatus.SIGNED:
            cards.append({"kind": "signed", "trial": trial, "url": url})
        elif trial.status == TrialStatus.ACTIVE:
            view = results.today_view(trial, today)
            for m in view["measures"]:
                m["url"] = reverse(
                    "assessments:form", kwargs={"code": patient.code, "instrument_id": m["instrument_id"]}
                )
            cards.append({"kind": "active", "trial": trial, "url": url, "view": view})
        elif trial.status in ENDED and trial.ended_at is not None and now - trial.ended_at <= RESULT_ON_HOME:
            cards.append({"kind": "ended", "trial": trial, "url": reverse("patient-nof1-card", args=[trial.pk])})
    return cards


def _own_trial(request: HttpRequest, pk: int, purpose: str) -> Trial:
    patient = access.get_own_patient_for(request.user, None, purpose=purpose)
    return _trial_of(patient, pk)


@login_and_access
@require_http_methods(["GET", "POST"])
def patient_trial(request: HttpRequest, pk: int) -> HttpResponse:
    trial = _own_trial(request, pk, "nof1_trial")
    errors: dict[str, str] = {}
    values = {"signed_name": "", "reason": ""}
    if request.method == "POST":
        what = request.POST.get("action", "")
        values = {"signed_name": request.POST.get("signed_name", ""), "reason": request.POST.get("reason", "")}
        actor = Actor.of(request.user)
        try:
            if what == "sign":
                if request.POST.get("agree") != "yes":
                    raise InputError("agree", "", "tick the box to say you have read the protocol and agree to it")
                actions.sign_as_patient(actor=actor, trial=trial, signed_name=values["signed_name"])
            elif what == "withdraw":
                if request.POST.get("confirm") != "yes":
                    raise InputError("confirm", "", "tick the box to confirm that you want to leave the trial")
                actions.withdraw(actor=actor, trial=trial, reason=values["reason"])
            else:
                raise InputError("action", what, "unknown action")
        except (InputError, Conflict) as exc:
            errors[what] = exc.message
        else:
            return redirect(reverse("patient-nof1", args=[trial.pk]) + f"?done={what}")
    trial = _complete_if_due(request, trial)
    patient = trial.patient
    today = patient.local_today()
    view = results.today_view(trial, today)
    for m in view["measures"]:
        m["url"] = reverse("assessments:form", kwargs={"code": patient.code, "instrument_id": m["instrument_id"]})
    context = {
        "patient": patient,
        "trial": trial,
        "pc": results.protocol_context(trial),
        "awaiting": awaiting_patient(trial),
        "view": view,
        "ended": results.ended(trial),
        "today": today,
        "errors": errors,
        "values": values,
        "done": request.GET.get("done", ""),
        "conditions": [] if results.schedule_hidden(trial) else queries.conditions_of(trial),
    }
    return render(request, "web/nof1/patient_trial.html", context, status=400 if errors else 200)


@login_and_access
def patient_protocol(request: HttpRequest, pk: int) -> HttpResponse:
    return _protocol_response(_own_trial(request, pk, "nof1_protocol"))


@login_and_access
def patient_card(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_page(request, _own_trial(request, pk, "nof1_card"), clinician=False)


def _card_page(request: HttpRequest, trial: Trial, *, clinician: bool) -> HttpResponse:
    if not results.ended(trial):  # the result card is ready when the trial ends; until then, the trial page
        if clinician:
            return redirect("clinic-nof1-trial", trial.patient.code, trial.pk)
        return redirect("patient-nof1", trial.pk)
    res = results.analyse_trial(trial)
    card = _card(trial, res)
    svg: SafeString = mark_safe(chart_svg(trial, res))  # noqa: S308 - escaped by nof1.chart
    return render(
        request,
        "web/nof1/card.html",
        {
            "patient": trial.patient,
            "trial": trial,
            "card": card,
            "reason": res.reason,
            "chart": svg,
            "clinician": clinician,
            "conditions": queries.conditions_of(trial),
        },
    )
