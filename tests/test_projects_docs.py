"""A project's passport through the real Dispatcher and the fake Telegram: the card's "docs"
panel gives it as DOCX and PDF, with the fields, the work plan, the consortium's organizations
by name and its citizens by no name, the reports and the needs; a draft's passport only for its
owners and the overseers, whatever the buttons say."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.keyboards.projects import CDProjectPanel
from bot.keyboards.projects_docs import CDPassport
from bot.services import users
from bot.services.projects import programmes
from models.base import utcnow
from models.needs import Need
from models.projects import (
    ContributionKind,
    Milestone,
    ParticipantStatus,
    ProjectContribution,
    ProjectNeed,
    ProjectParticipant,
    ProjectReport,
    ProjectStatus,
)
from tests.projects_support import a_date, district, executive, member_organization, project
from tests.support import register
from tests.test_needs_moderation import a_category
from tests.test_votes import presidium_member

S = ProjectStatus
PRESIDIUM, EXECUTIVE, REP1, REP2, CITIZEN, VOLUNTEER = 7701, 7702, 7703, 7704, 7705, 7706
VOLUNTEER_NAME = "Иван Добровольцев"


async def world(fake, running) -> dict[str, int]:
    for tg in (PRESIDIUM, EXECUTIVE, REP1, REP2, CITIZEN, VOLUNTEER):
        fake.user(tg)
    ids = {"d1": await district(running, 1, "Центр"), "d2": await district(running, 2, "Заречье")}
    ids["presidium"] = await presidium_member(running, PRESIDIUM, "Председатель")
    ids["executive"] = await executive(running, EXECUTIVE, "Исполнитель")
    ids["org1"], ids["rep1"] = await member_organization(
        running, REP1, "Глава Один", "ТОС Центр", ids["d1"]
    )
    ids["org2"], ids["rep2"] = await member_organization(
        running, REP2, "Глава Два", "НКО «Заречье»", ids["d2"]
    )
    ids["citizen"] = await register(running, CITIZEN, "Житель")
    ids["volunteer"] = await register(running, VOLUNTEER, VOLUNTEER_NAME)
    return ids


async def full_project(running, ids, status: ProjectStatus = S.IN_PROGRESS) -> int:
    """A project with a programme, a plan (one step done), a consortium (the initiator, a
    partner organization, a citizen volunteer) with contributions, a report and a need."""
    async with running.sessionmaker.begin() as session:
        chair = await users.get_user(session, PRESIDIUM)
        programme = await programmes.create(session, chair, "Дворы Центра", "О дворах.", ids["d1"])
    project_id = await project(
        running,
        ids["org1"],
        ids["rep1"],
        title="Светлый двор",
        district_id=ids["d1"],
        status=status,
        programme_id=programme.id,
    )
    async with running.sessionmaker.begin() as session:
        lead = await session.scalar(
            select(ProjectParticipant).where(ProjectParticipant.project_id == project_id)
        )
        partner = ProjectParticipant(
            project_id=project_id,
            organization_id=ids["org2"],
            district_id=ids["d2"],
            role="партнёр",
            status=ParticipantStatus.ACTIVE,
        )
        citizen = ProjectParticipant(
            project_id=project_id,
            user_id=ids["volunteer"],
            district_id=ids["d1"],
            role="электрик",
            status=ParticipantStatus.ACTIVE,
        )
        session.add_all([partner, citizen])
        await session.flush()
        session.add_all(
            [
                ProjectContribution(
                    project_id=project_id,
                    participant_id=lead.id,
                    kind=ContributionKind.MONEY,
                    value=100_000,
                    description="грант",
                ),
                ProjectContribution(
                    project_id=project_id,
                    participant_id=citizen.id,
                    kind=ContributionKind.WORK,
                    value=20_000,
                    description="монтаж светильников",
                ),
                Milestone(
                    project_id=project_id,
                    title="Закупить светильники",
                    due_on=a_date(20),
                    done_at=utcnow(),
                    responsible_id=ids["volunteer"],
                ),
                Milestone(project_id=project_id, title="Провести субботник", due_on=a_date(40)),
                ProjectReport(
                    project_id=project_id,
                    period_start=a_date(-30),
                    period_end=a_date(-1),
                    progress=40,
                    spent=55_000,
                    text="Светильники закуплены, монтаж начат.",
                    author_id=ids["volunteer"],
                    submitted_at=utcnow() - timedelta(hours=1),
                ),
            ]
        )
        need = Need(
            district_id=ids["d1"],
            category_id=await a_category(session),
            author_id=ids["citizen"],
            description="Темно во дворе дома 7",
        )
        session.add(need)
        await session.flush()
        session.add(ProjectNeed(project_id=project_id, need_id=need.id))
    return project_id


async def passport(fake, person, project_id: int, fmt: str) -> bytes:
    """Open the docs panel as the card's button does, press the format, read the file."""
    anchor = (await person.say("/help"))[0]
    panel = (
        await person.click_data(
            anchor.message_id, CDProjectPanel(id=project_id, panel="docs").pack()
        )
    )[-1]
    # The panel's button for the format (found by its data: the label is in the reader's language).
    replies = await person.click(CDPassport(id=project_id, fmt=fmt).pack(), panel.message_id)
    documents = [reply.document for reply in replies if reply.document]
    assert len(documents) == 1, [reply.text for reply in replies]
    assert documents[0]["file_name"] == f"project-{project_id}-passport.{fmt}"
    assert person.chat_actions[-1] == "upload_document"  # the chat shows a file is coming
    return fake.file(documents[0]["file_id"]).content


def docx_text(content: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(content))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


async def test_the_passport_docx_holds_the_project_and_names_no_citizen(fake, running):
    ids = await world(fake, running)
    project_id = await full_project(running, ids)
    content = await passport(fake, fake.user(CITIZEN), project_id, "docx")
    text = docx_text(content)
    for expected in (
        f"Паспорт проекта №{project_id}",
        "Светлый двор",
        "реализуется",
        "ТОС Центр (инициатор)",
        "НКО «Заречье»",  # a partner organization, by name
        "гражданин-волонтёр",  # a citizen, by no name
        "электрик",
        "работа: 20\u00a0000 ₽ — монтаж светильников",
        "округ №1 Центр",
        "Дворы Центра",
        "150\u00a0000 ₽",
        "Грант города и взносы жителей",
        "Закупить светильники",
        "Провести субботник",
        "не выполнен",
        "Светильники закуплены, монтаж начат.",
        "40 %",
        "55\u00a0000 ₽",
        "Темно во дворе дома 7",
    ):
        assert expected in text, expected
    for personal in (VOLUNTEER_NAME, "Добровольцев", "Глава Один", "Житель"):
        assert personal not in text


async def test_the_passport_pdf_opens_and_reads_in_english_for_an_english_reader(fake, running):
    ids = await world(fake, running)
    project_id = await full_project(running, ids)
    async with running.sessionmaker.begin() as session:
        (await users.get_user(session, CITIZEN)).language = "en"
    content = await passport(fake, fake.user(CITIZEN), project_id, "pdf")
    assert content.startswith(b"%PDF")
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        f"Passport of project No. {project_id}",
        "Светлый двор",  # the project's own words stay as written
        "Work plan",
        "Закупить светильники",
        "a citizen volunteer",
        "НКО «Заречье»",
    ):
        assert expected in text, expected
    assert "Добровольцев" not in text


async def test_a_drafts_passport_is_its_organizations_and_the_overseers(fake, running):
    ids = await world(fake, running)
    draft = await project(running, ids["org1"], ids["rep1"], title="Тайный черновик")
    # Its owner and the executive committee get it.
    assert (await passport(fake, fake.user(REP1), draft, "docx")).startswith(b"PK")
    assert (await passport(fake, fake.user(EXECUTIVE), draft, "pdf")).startswith(b"%PDF")
    # Anyone else: the panel and both formats, pressed as forged buttons, are "not found".
    for tg in (REP2, CITIZEN, PRESIDIUM):
        person = fake.user(tg)
        anchor = (await person.say("/help"))[0]
        before = len(person.bot_messages)
        for data in (
            CDProjectPanel(id=draft, panel="docs").pack(),
            CDPassport(id=draft, fmt="docx").pack(),
            CDPassport(id=draft, fmt="pdf").pack(),
        ):
            await person.click_data(anchor.message_id, data)
            assert person.callback_answers[-1].show_alert
            assert "не найден" in person.callback_answers[-1].text
        assert len(person.bot_messages) == before  # no file, no panel
        assert not any("Тайный черновик" in (m.text or "") for m in person.bot_messages)
    # A format no button carries is a stale button.
    owner = fake.user(REP1)
    anchor = (await owner.say("/help"))[0]
    await owner.click_data(anchor.message_id, CDPassport(id=draft, fmt="exe").pack())
    assert owner.callback_answers[-1].show_alert
