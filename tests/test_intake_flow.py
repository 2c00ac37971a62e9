"""The intake through the web: booking opens it, people answer it, therapists review it, and
only the right people ever see it."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, add_therapist, csrf_from
from helpers import CLIENT, body_of, book, manage_path, read_eml, text
from sqlalchemy import select

from practice.audit import AuditEvent
from practice.auth.service import create_staff_user
from practice.booking.models import Consultation
from practice.db import get_session
from practice.intake.models import Intake

MONDAY_9 = "2030-01-07T09:00Z"
MONDAY_10 = "2030-01-07T10:00Z"
COUPLE = {"kind": "couple", "partner_name": "Sam Rivera", "partner_email": "sam@example.com"}


def form_def(app):  # noqa: ANN001, ANN201
    return app.extensions["practice"].questionnaires.get("relationship-intake")


def persona(app, codependent, hyper, safety: str = "no", skip: float = 0.0) -> dict:  # noqa: ANN001
    """Answers of someone who agrees `codependent`/`hyper` (1-5, or a pair of levels taken in
    turn) with each pattern's items.

    Reverse-keyed items get the mirrored answer, so the person is consistent. `skip` leaves
    that share of each subscale unanswered."""
    q = form_def(app)
    answers: dict[str, str] = {}
    level = {"codependent": codependent, "hyper_independent": hyper}
    for sub in q.subscales:
        n_skip = int(len(sub.items) * skip + 0.999) if skip else 0
        for n, item_id in enumerate(sub.items):
            if n < n_skip:
                continue
            item = q.item(item_id)
            agree = level[sub.pattern]
            if isinstance(agree, tuple):
                agree = agree[n % len(agree)]
            answers[item_id] = str(6 - agree if item.reverse else agree)
    for item in q.safety_items:
        answers[item.id] = safety if item.id == q.safety_items[0].id else "no"
    for item in q.items.values():
        if item.required and item.id not in answers:
            answers[item.id] = "We argue about the same things and I feel alone in it."
        if item.kind == "choice" and item.id not in answers:
            answers[item.id] = item.choices[0].value
    return answers


def intake_links(mail_dir) -> dict[str, str]:  # noqa: ANN001
    """Recipient -> intake path, from the emails actually written."""
    links = {}
    for message in read_eml(mail_dir):
        match = re.search(r"https?://[^/\s]+(/intake/[^\s]+)", body_of(message))
        if match:
            links[message["To"]] = match.group(1)
    return links


def book_couple(app, client, start=MONDAY_9, **extra):  # noqa: ANN001, ANN003, ANN201
    response = book(client, "maya-chen", start, **{**COUPLE, **extra})
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return response


def answer(client, path: str, answers: dict, action: str = "submit"):  # noqa: ANN001, ANN201
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(
        path,
        data={**answers, "csrf_token": csrf_from(page.get_data(as_text=True)), "action": action},
    )


@pytest.fixture
def mail_dir(app, tmp_path):  # noqa: ANN001, ANN201
    return tmp_path / "mail"


@pytest.fixture
def maya(app):  # noqa: ANN001, ANN201
    return add_therapist(app)


@pytest.fixture
def staff_client(app):  # noqa: ANN001, ANN201
    """A second browser, for the therapist."""
    from conftest import Auth

    other = app.test_client()
    return other, Auth(other)


def deliver(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["practice", "send-outbox"])
    assert result.exit_code == 0, result.output


# --- links ------------------------------------------------------------------------------------


def test_booking_a_couple_opens_one_intake_each_and_emails_each_their_own_link(
    app, client, runner, maya, mail_dir
):
    book_couple(app, client)
    deliver(runner)
    links = intake_links(mail_dir)
    assert set(links) == {CLIENT["email"], "sam@example.com"}
    assert links[CLIENT["email"]] != links["sam@example.com"]
    partner_mail = next(m for m in read_eml(mail_dir) if m["To"] == "sam@example.com")
    assert "Sam Rivera" in body_of(partner_mail) and "won't\nsee them" in body_of(partner_mail)
    # The partner's form greets the partner, not the client.
    assert "Sam Rivera" in text(client.get(links["sam@example.com"]))


def test_without_a_partner_email_the_confirmation_page_carries_the_partners_link(app, client, maya):
    response = book_couple(app, client, partner_email="")
    page = text(client.get(manage_path(response)))
    assert "Answer my questions" in page
    assert "Sam Rivera has their own private link" in page
    # Once Sam has saved an answer, the link (which would show it) leaves this shared page.
    sam_link = re.search(r'value="(https?://[^"]+/intake/[^"]+)"', page).group(1)
    sam_path = "/intake/" + sam_link.split("/intake/", 1)[1]
    first = form_def(app).subscales[0].items[0]
    assert answer(client, sam_path, {first: "4"}, action="save").status_code == 302
    page = text(client.get(manage_path(response)))
    assert "Sam Rivera has started their questions" in page
    assert sam_link not in page and "Answer my questions" in page


def test_an_individual_gets_one_intake(app, client, maya):
    book(client, "maya-chen", MONDAY_9)
    with app.app_context():
        intakes = get_session().scalars(select(Intake)).all()
        assert [(i.respondent, i.respondent_name) for i in intakes] == [("client", "Jordan Lee")]
        assert intakes[0].form_version == form_def(app).version


def test_a_forged_or_altered_link_is_refused_kindly(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    for bad in (path[:-3] + "xyz", "/intake/forged-token", path + "a"):
        response = client.get(bad)
        assert response.status_code == 404
        assert "doesn't work any more" in text(response)


# --- answering --------------------------------------------------------------------------------


def test_answers_save_as_they_go_and_come_back_from_the_link(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    q = form_def(app)
    first = q.subscales[0].items[0]
    response = answer(
        client, path, {first: "4", "what_brings_you": "Feeling stretched thin."}, action="save"
    )
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert re.search(
        rf'value="4"[^>]*checked[^>]*name="{first}"|name="{first}"[^>]*value="4"'
        r'[^>]*checked|checked[^>]*name="' + first + '"[^>]*value="4"',
        page,
    )
    assert "Feeling stretched thin." in page


def test_autosave_keeps_a_single_answer(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    token = csrf_from(client.get(path).get_data(as_text=True))
    item = form_def(app).subscales[1].items[0]
    saved = client.post(path + "/autosave", data={item: "5", "csrf_token": token})
    assert saved.status_code == 200 and saved.get_json() == {"saved": 1, "urgent": False}
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.answer_map() == {item: "5"} and intake.status == "in_progress"


def test_an_autosave_that_loses_the_race_with_sending_gets_a_plain_409(
    app, client, runner, maya, mail_dir, monkeypatch
):
    """The browser sends the form while a save is on its way: the save must not 500."""
    from datetime import UTC, datetime

    from practice.intake import service
    from practice.intake import views as intake_views

    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    token = csrf_from(client.get(path).get_data(as_text=True))
    item = form_def(app).subscales[1].items[0]
    real_build_form = intake_views.build_form

    def send_from_another_tab(questionnaire):  # noqa: ANN001, ANN202
        # Runs after the view found the intake open, before it takes the intake's lock: the
        # other tab's request is another server process, so it has a session of its own.
        answers = persona(app, codependent=3, hyper=3)
        with app.extensions["practice"].sessionmaker() as other:
            intake = other.scalars(select(Intake)).one()
            form = service.form_for(app.extensions["practice"].questionnaires, intake)
            service.submit(
                other, intake, answers, form, datetime.now(UTC), on_urgent=lambda *_: None
            )
        return real_build_form(questionnaire)

    monkeypatch.setattr(intake_views, "build_form", send_from_another_tab)
    late = client.post(path + "/autosave", data={item: "1", "csrf_token": token})
    assert late.status_code == 409 and late.get_json() == {"error": "Already sent."}
    monkeypatch.setattr(intake_views, "build_form", real_build_form)
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.status == "submitted" and intake.answer_map()[item] == "3"


def test_save_for_later_after_sending_from_another_tab_shows_the_thanks_page(
    app, client, runner, maya, mail_dir, monkeypatch
):
    from datetime import UTC, datetime

    from practice.intake import service
    from practice.intake import views as intake_views

    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    page = client.get(path).get_data(as_text=True)
    real_build_form = intake_views.build_form

    def send_from_another_tab(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        with app.extensions["practice"].sessionmaker() as other:
            intake = other.scalars(select(Intake)).one()
            if not intake.submitted:
                form = service.form_for(app.extensions["practice"].questionnaires, intake)
                answers = persona(app, codependent=3, hyper=3)
                service.submit(other, intake, answers, form, datetime.now(UTC), lambda *_: None)
        return real_build_form(*args, **kwargs)

    monkeypatch.setattr(intake_views, "build_form", send_from_another_tab)
    item = form_def(app).subscales[1].items[0]
    saved = client.post(path, data={item: "1", "csrf_token": csrf_from(page), "action": "save"})
    assert saved.status_code == 200
    assert "Thank you" in text(saved)
    with app.app_context():
        assert get_session().scalars(select(Intake)).one().answer_map()[item] == "3"


def test_an_intake_link_for_a_booking_months_ahead_works_until_the_day(
    app, client, runner, mail_dir, clock
):
    add_therapist(app, name="Rui Costa", horizon_days=365)
    book(client, "rui-costa", "2030-07-01T09:00Z")  # 175 days ahead: past the 120-day age
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    clock.advance(days=170)
    assert client.get(path).status_code == 200
    clock.advance(days=6)  # the day after the consultation
    assert client.get(path).status_code == 404


def test_a_malformed_answer_gets_a_plain_message_and_nothing_typed_is_lost(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    q = form_def(app)
    good, bad = q.subscales[0].items[:2]
    response = answer(
        client,
        path,
        {good: "2", bad: "9", "what_brings_you": "x" * 5000, "goals": "Talk more kindly."},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Please choose one of the options shown." in page
    assert "Please keep this under" in page
    assert "Talk more kindly." in page
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        saved = intake.answer_map()
        assert saved[good] == "2" and saved["goals"] == "Talk more kindly."
        assert bad not in saved and "what_brings_you" not in saved
        assert intake.status == "in_progress"


def test_a_required_question_left_empty_is_asked_for_again(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    answers = persona(app, 3, 3)
    del answers["what_brings_you"]
    response = answer(client, path, answers)
    assert response.status_code == 400
    assert "Please answer this question." in text(response)
    with app.app_context():
        assert get_session().scalars(select(Intake)).one().status == "in_progress"


def test_submitting_twice_keeps_one_submission_and_hides_the_answers_afterwards(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    answers = persona(app, 5, 1)
    page = client.get(path)
    token = csrf_from(page.get_data(as_text=True))
    first = client.post(path, data={**answers, "csrf_token": token, "action": "submit"})
    changed = {**persona(app, 1, 5), "csrf_token": token, "action": "submit"}
    second = client.post(path, data=changed)
    assert first.status_code == second.status_code == 200
    assert "Thank you" in text(second)
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.result["flags"]["codependent"]["level"] == "high"
        assert intake.answer_map() == {k: v for k, v in answers.items() if v}
    later = text(client.get(path))
    assert "Thank you" in later and answers["what_brings_you"] not in later
    assert 'name="action"' not in later


# --- personas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "answers", "codependent", "hyper", "queue_level"),
    [
        ("clearly codependent", dict(codependent=5, hyper=1), "high", "none", "high"),
        ("clearly hyper-independent", dict(codependent=1, hyper=5), "none", "high", "high"),
        ("balanced", dict(codependent=2, hyper=2), "none", "none", "none"),
        # Agreeing and staying neutral in turn: a mean of 3.5, right at "elevated".
        ("mixed", dict(codependent=(4, 3), hyper=(3, 4)), "elevated", "elevated", "elevated"),
        (
            "many skipped",
            dict(codependent=5, hyper=5, skip=0.5),
            "not_scorable",
            "not_scorable",
            # Not "no pattern flagged": too much was skipped to say either way.
            "not_scorable",
        ),
    ],
)
def test_personas_are_flagged_as_a_clinician_would_expect(
    app, client, runner, maya, mail_dir, name, answers, codependent, hyper, queue_level
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    response = answer(client, intake_links(mail_dir)[CLIENT["email"]], persona(app, **answers))
    assert response.status_code == 200, name
    assert "Please reach out for support now" not in text(response)
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        flags = intake.result["flags"]
        assert (flags["codependent"]["level"], flags["hyper_independent"]["level"]) == (
            codependent,
            hyper,
        ), name
        assert intake.queue_level == queue_level and not intake.urgent
        if codependent in ("elevated", "high"):
            assert flags["codependent"]["drivers"], "a flag carries the answers behind it"


def test_an_endorsed_safety_item_shows_help_at_once_and_alerts_the_therapist_discreetly(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    before = {p.name for p in mail_dir.glob("*.eml")}
    response = answer(
        client, intake_links(mail_dir)[CLIENT["email"]], persona(app, 2, 2, safety="yes")
    )
    page = text(response)
    assert response.status_code == 200
    assert "Please reach out for support now" in page
    assert "988" in page and "1-800-799-7233" in page and "88788" in page
    assert "isn't watched\n  in real time" in page or "isn't watched in real time" in page
    deliver(runner)
    new = [m for m in read_eml(mail_dir) if m["To"] == "maya@example.org"]
    alerts = [m for m in new if m["Subject"] == "An intake needs your attention"]
    assert len(alerts) == 1
    body = body_of(alerts[0])
    q = form_def(app)
    for secret in ("Jordan", "Lee", q.safety_items[0].text, "afraid", "safety"):
        assert secret not in body
    assert {p.name for p in mail_dir.glob("*.eml")} - before
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.urgent and intake.queue_level == "urgent"


def alerts_to_maya(mail_dir) -> list:  # noqa: ANN001
    return [
        m
        for m in read_eml(mail_dir)
        if m["To"] == "maya@example.org" and m["Subject"] == "An intake needs your attention"
    ]


def test_a_safety_yes_saved_for_later_alerts_the_therapist_and_shows_help_at_once(
    app, client, runner, maya, mail_dir
):
    """Someone may answer "yes" and never press Send: the flag can't wait for sending."""
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    afraid = form_def(app).safety_items[0].id
    saved = answer(client, path, {afraid: "yes"}, action="save")
    # Without JavaScript the page lands on the crisis help, not on a note at the top.
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#crisis-help")
    html = client.get(path).get_data(as_text=True)
    assert 'href="tel:988"' in html  # one tap to call, on a phone
    page = text(client.get(path))
    assert "Please reach out for support now" in page and "988" in page
    deliver(runner)
    assert len(alerts_to_maya(mail_dir)) == 1
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.urgent and intake.queue_level == "urgent" and not intake.submitted
    # Saving again, then sending, alerts nobody twice.
    answer(client, path, {afraid: "yes"}, action="save")
    sent = answer(client, path, persona(app, 2, 2, safety="yes"))
    assert "Please reach out for support now" in text(sent)
    deliver(runner)
    assert len(alerts_to_maya(mail_dir)) == 1


def test_the_intake_page_shows_the_practices_own_crisis_numbers(
    app, client, runner, maya, mail_dir
):
    app.config["PRACTICE_URGENT_HELP"] = [
        {"label": "Emergency", "contact": "999"},
        {"label": "Samaritans", "contact": "116 123"},
    ]
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    page = text(client.get(intake_links(mail_dir)[CLIENT["email"]]))
    assert "numbers at the foot of this page" in page
    assert "116 123" in page and "999" in page and "988" not in page


def test_a_safety_yes_autosaved_is_acted_on_without_send(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    token = csrf_from(client.get(path).get_data(as_text=True))
    q = form_def(app)
    calm = client.post(path + "/autosave", data={q.safety_items[1].id: "no", "csrf_token": token})
    assert calm.get_json() == {"saved": 1, "urgent": False}
    hurt = client.post(path + "/autosave", data={q.safety_items[1].id: "yes", "csrf_token": token})
    assert hurt.get_json() == {"saved": 1, "urgent": True}
    deliver(runner)
    assert len(alerts_to_maya(mail_dir)) == 1
    # Changed to "no" before sending: the therapist still sees that it was raised.
    client.post(path + "/autosave", data={q.safety_items[1].id: "no", "csrf_token": token})
    answer(client, path, persona(app, 2, 2))
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.submitted and intake.urgent and intake.queue_level == "urgent"
        assert not intake.result["safety"]["endorsed"]
    deliver(runner)
    assert len(alerts_to_maya(mail_dir)) == 1


def test_the_therapist_sees_an_urgent_intake_before_it_is_sent(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    q = form_def(app)
    answer(client, path, {q.safety_items[0].id: "yes"}, action="save")
    staff = app.test_client()
    from conftest import Auth

    Auth(staff).login("maya@example.org")
    queue = text(staff.get("/staff/intakes"))
    assert "Urgent: safety concern" in queue
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        public_id = intake.public_id
        listed = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "intake.list"))
        assert [e.subject_id for e in listed] == [public_id]
    review = text(staff.get(f"/staff/intakes/{public_id}"))
    assert "intake not sent yet" in review
    assert q.safety_items[0].text.split(",")[0] in review


def test_crisis_help_is_not_shown_to_someone_else_holding_the_link(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    page = client.get(path).get_data(as_text=True)
    token = csrf_from(page)
    answers = persona(app, 2, 2, safety="yes")
    first = client.post(path, data={**answers, "csrf_token": token, "action": "submit"})
    assert "Please reach out for support now" in text(first)
    # The same browser pressing again (a retry) sees the same page...
    again = client.post(path, data={**answers, "csrf_token": token, "action": "submit"})
    assert "Please reach out for support now" in text(again)
    # ...but another browser posting to the link learns nothing about the answers.
    other = app.test_client()
    probe = other.post(path, data={"action": "submit"})
    assert probe.status_code == 200
    assert "Please reach out for support now" not in text(probe)


def test_saved_safety_answers_are_never_shown_to_whoever_opens_the_link_next(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    q = form_def(app)
    afraid, first_pattern_item = q.safety_items[0].id, q.subscales[0].items[0]
    answer(client, path, {afraid: "yes", first_pattern_item: "4"}, action="save")
    someone_else = app.test_client()
    page = someone_else.get(path).get_data(as_text=True)
    assert re.search(rf'name="{first_pattern_item}"[^>]*value="4"|value="4"[^>]*checked', page)
    assert not re.search(rf'checked[^>]*name="{afraid}"|name="{afraid}"[^>]*checked', page)
    assert "they aren't shown\n    again here" in page or "they aren't shown again here" in page
    assert "data-crisis hidden" in page  # the crisis block is there for the script, hidden
    with app.app_context():
        assert get_session().scalars(select(Intake)).one().answer_map()[afraid] == "yes"


def test_sending_from_another_browser_does_not_reveal_an_earlier_safety_yes(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    answer(client, path, {form_def(app).safety_items[0].id: "yes"}, action="save")
    # Someone else with the link sends the form: they learn nothing of the earlier "yes".
    someone_else = app.test_client()
    answers = persona(app, 2, 2)
    for item in form_def(app).safety_items:
        del answers[item.id]  # not shown again on a reopened page, so not posted
    sent = answer(someone_else, path, answers)
    assert sent.status_code == 200
    assert "Please reach out for support now" not in text(sent)
    with app.app_context():
        assert get_session().scalars(select(Intake)).one().urgent  # the therapist still knows


def test_sending_from_a_stale_tab_keeps_answers_saved_from_another(
    app, client, runner, maya, mail_dir
):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    path = intake_links(mail_dir)[CLIENT["email"]]
    old_tab = client.get(path).get_data(as_text=True)  # opened before anything was answered
    q = form_def(app)
    hurt = q.safety_items[1].id
    answer(client, path, {hurt: "yes"}, action="save")  # answered on the phone
    answers = persona(app, 2, 2)
    del answers[hurt]  # the old tab never had it
    sent = client.post(path, data={**answers, "csrf_token": csrf_from(old_tab), "action": "submit"})
    assert sent.status_code == 200
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.answer_map()[hurt] == "yes"
        assert intake.urgent and hurt in intake.result["safety"]["endorsed"]


def test_words_of_harm_written_in_their_own_words_are_put_in_front_of_the_therapist(
    app, client, runner, maya, mail_dir, staff_client
):
    """The yes/no safety questions all answered "no", but the story says otherwise."""
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    answers = persona(app, 2, 2)
    answers["what_brings_you"] = "He hits me when he drinks and I don't want to be here any more."
    sent = answer(client, intake_links(mail_dir)[CLIENT["email"]], answers)
    page = text(sent)
    assert "Some of what you wrote sounds really hard" in page and "988" in page
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.queue_level == "safety_words" and not intake.urgent
        public_id = intake.public_id
    browser, auth = staff_client
    auth.login("maya@example.org")
    assert "Possible safety concern in their words" in text(browser.get("/staff/intakes"))
    review = text(browser.get(f"/staff/intakes/{public_id}"))
    assert "Possible safety concern in their own words" in review
    # Nothing of it in the therapist's emails: there is no alert for words, only the queue.
    assert not alerts_to_maya(mail_dir)


def test_a_skipped_safety_question_is_flagged_as_unanswered(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    deliver(runner)
    answers = persona(app, 2, 2)
    del answers[form_def(app).safety_items[-1].id]
    answer(client, intake_links(mail_dir)[CLIENT["email"]], answers)
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        assert intake.queue_level == "safety_unanswered" and intake.safety_unanswered


# --- the therapist's side ---------------------------------------------------------------------


def _answer_as(app, client, runner, mail_dir, email, answers) -> None:  # noqa: ANN001
    deliver(runner)
    response = answer(client, intake_links(mail_dir)[email], answers)
    assert response.status_code == 200


def test_queue_puts_urgent_first_then_by_strength_and_filters(
    app, client, runner, maya, mail_dir, staff_client
):
    book(client, "maya-chen", MONDAY_9, email="a@example.com", name="Avery Balanced")
    book(client, "maya-chen", MONDAY_10, email="b@example.com", name="Blake Strong")
    book(client, "maya-chen", "2030-01-07T11:00Z", email="c@example.com", name="Casey Urgent")
    _answer_as(app, client, runner, mail_dir, "a@example.com", persona(app, 2, 2))
    _answer_as(app, client, runner, mail_dir, "b@example.com", persona(app, 5, 1))
    _answer_as(app, client, runner, mail_dir, "c@example.com", persona(app, 2, 2, safety="yes"))
    browser, auth = staff_client
    auth.login("maya@example.org")
    page = text(browser.get("/staff/intakes"))
    assert page.index("Casey Urgent") < page.index("Blake Strong") < page.index("Avery Balanced")
    high_only = text(browser.get("/staff/intakes?flag=high"))
    assert "Blake Strong" in high_only and "Casey Urgent" not in high_only
    assert "Avery Balanced" in text(browser.get("/staff/intakes?reviewed=no"))


def test_intake_page_shows_scores_drivers_answers_and_records_the_review(
    app, client, runner, maya, mail_dir, staff_client
):
    book(client, "maya-chen", MONDAY_9)
    _answer_as(app, client, runner, mail_dir, CLIENT["email"], persona(app, 5, 1))
    with app.app_context():
        intake = get_session().scalars(select(Intake)).one()
        public_id = intake.public_id
    browser, auth = staff_client
    auth.login("maya@example.org")
    page = browser.get(f"/staff/intakes/{public_id}")
    html = text(page)
    assert page.status_code == 200
    assert "Codependent pattern" in html and "<meter" in html and "Answers behind this" in html
    q = form_def(app)
    assert q.item(q.subscales[0].items[0]).text in html
    saved = browser.post(
        f"/staff/intakes/{public_id}",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "note": "Explore caretaking."},
    )
    assert saved.status_code == 302
    after = text(browser.get(f"/staff/intakes/{public_id}"))
    assert "Reviewed by Maya Chen" in after and "Explore caretaking." in after
    export = browser.get(f"/staff/intakes/{public_id}/fhir.json")
    assert export.mimetype == "application/fhir+json"
    assert export.get_json()["resourceType"] == "QuestionnaireResponse"
    with app.app_context():
        events = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.subject_id) for e in events] == [
            ("intake.view", public_id),
            ("intake.view", public_id),
            ("intake.export", public_id),
        ]
        assert all(e.actor_id is not None for e in events)


def test_couple_page_shows_both_and_the_cycle_but_never_a_partners_safety_answers(
    app, client, runner, maya, mail_dir, staff_client
):
    book_couple(app, client)
    deliver(runner)
    links = intake_links(mail_dir)
    answer(client, links[CLIENT["email"]], persona(app, 5, 1))
    answer(client, links["sam@example.com"], persona(app, 1, 5, safety="yes"))
    browser, auth = staff_client
    auth.login("maya@example.org")
    with app.app_context():
        consultation_id = get_session().scalars(select(Intake)).first().consultation.public_id
    page = text(browser.get(f"/staff/couples/{consultation_id}"))
    assert "Jordan Lee" in page and "Sam Rivera" in page
    assert "Possible pursue–withdraw cycle" in page
    q = form_def(app)
    for item in q.safety_items:
        assert item.text not in page
    assert "Urgent" not in page and "See individual intake" in page


# --- who may see what -------------------------------------------------------------------------


def test_only_the_consultations_therapist_and_admins_can_open_an_intake(
    app, client, runner, maya, mail_dir, staff_client
):
    add_therapist(app, name="Tom Okafor", email="tom@example.org")
    with app.app_context():
        create_staff_user(get_session(), "admin@example.org", "Ada Admin", "admin", PASSWORD)
        get_session().commit()
    book_couple(app, client)
    deliver(runner)
    answer(client, intake_links(mail_dir)[CLIENT["email"]], persona(app, 5, 1))
    with app.app_context():
        intake = get_session().scalars(select(Intake).where(Intake.respondent == "client")).one()
        public_id, consultation_id = intake.public_id, intake.consultation.public_id
    urls = [
        f"/staff/intakes/{public_id}",
        f"/staff/intakes/{public_id}/fhir.json",
        f"/staff/couples/{consultation_id}",
    ]

    visitor = app.test_client()
    for url in urls:
        response = visitor.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]

    browser, auth = staff_client
    auth.login("tom@example.org")
    for url in urls:
        assert browser.get(url).status_code == 404, url
    assert "Jordan" not in text(browser.get("/staff/intakes"))
    auth.logout()

    auth.login("admin@example.org")
    for url in urls:
        assert browser.get(url).status_code == 200, url
    with app.app_context():
        events = get_session().scalars(select(AuditEvent)).all()
        assert len(events) == 3  # the admin's three openings; refused attempts open nothing
        assert {e.action for e in events} == {"intake.view", "intake.export", "couple.view"}


def test_nothing_clinical_reaches_an_email(app, client, runner, maya, mail_dir):
    book(client, "maya-chen", MONDAY_9)
    answers = persona(app, 5, 1, safety="yes")
    _answer_as(app, client, runner, mail_dir, CLIENT["email"], answers)
    deliver(runner)
    q = form_def(app)
    for message in read_eml(mail_dir):
        body = body_of(message)
        assert answers["what_brings_you"] not in body
        assert CLIENT["note"] not in body
        for item in q.items.values():
            assert item.text not in body


def test_worksheets_for_a_couple_in_the_cycle_are_suggested_from_their_intakes(
    app, client, runner, maya, mail_dir, staff_client
):
    book_couple(app, client)
    deliver(runner)
    links = intake_links(mail_dir)
    answer(client, links[CLIENT["email"]], persona(app, 5, 1))
    answer(client, links["sam@example.com"], persona(app, 1, 5, safety="yes"))
    with app.app_context():
        from practice.intake.service import pattern_flags

        intake = get_session().scalars(select(Intake)).first()
        consultation_id = intake.consultation_id
        # Safety never becomes a flag a worksheet could see.
        assert pattern_flags(get_session(), intake.consultation) == {
            "codependent",
            "hyper_independent",
            "pursue_withdraw",
        }
    browser, auth = staff_client
    auth.login("maya@example.org")
    page = text(browser.get(f"/staff/worksheets/?consultation={consultation_id}"))
    assert "Suggested for this couple are listed first." in page
    listed = page[page.index("Suggested for this couple") :]
    # Our cycle (pursue-withdraw) comes before a worksheet suited to no flag of theirs.
    assert listed.index("Our cycle") < listed.index("Weekly check-in")
    # Suggestions reveal the couple's flags: that view is audited like the intake page.
    with app.app_context():
        public_id = get_session().get(Consultation, consultation_id).public_id
        seen = get_session().scalars(
            select(AuditEvent).where(AuditEvent.action == "intake.flags_view")
        )
        assert [e.subject_id for e in seen] == [public_id]
