"""What the migrations do that the model state does not say: the rows every
database starts with, the database's own guards on PostgreSQL, and the status
history read from the audit trail.

Functions of an app registry, so the squashed migration calls them with its
historical models (`apps.get_model`) and tests/conftest.py puts the rows back
with the live ones after a transactional test flushed the tables.

* The Fund's 2012 campaign and the 3 April 2012 interactive dialogue of the
  General Assembly with its four sessions (times are New York's, EDT), their
  titles in the six UN languages, the staff roles as Django groups, and the
  donor type and earmark labels: `reference_data_create`.
* On PostgreSQL the database itself refuses UPDATE and DELETE on the audit
  trail and on the status history, so not even a bug or a stray shell can
  rewrite history: `append_only`.
* Indexes for statement matching's donor rule (PostgreSQL only): a trigram
  index on donors' names (the rule looks for donors named like the debtor
  among the pledges of the amount's band) and covering partial indexes for
  its amount bands, so a batch's bands are read from the indexes alone. Their
  conditions name the open statuses as `pledges.reconciliation.matching`
  writes them. Other databases get nothing, and the rule asks them line by
  line instead: `matching_indexes_create`.
* The status history of the pledges that exist, read from the audit trail:
  `status_history_from_audit`.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import migrations, models

# --- The 2012 campaign and dialogue -------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2012, 4, 3)
SESSIONS = [
    ("opening", "Opening remarks", "10:00", "11:00"),
    ("panel-1", "Panel I: Protecting the Victims of Trafficking: Partnerships and Innovation", "11:00", "13:00"),
    (
        "panel-2",
        "Panel II: Assistance to the Victims of Trafficking: the Role of Governments, International "
        "Organizations, Private Sector and Civil Society",
        "15:00",
        "17:45",
    ),
    ("closing", "Closing remarks", "17:45", "18:00"),
]


def at(clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=NEW_YORK)


def dialogue_create(apps):
    Campaign = apps.get_model("pledges", "Campaign")
    Event = apps.get_model("pledges", "Event")
    EventSession = apps.get_model("pledges", "EventSession")
    campaign, _ = Campaign.objects.get_or_create(
        slug="vtf-2012",
        defaults={
            "title": (
                "UN Voluntary Trust Fund for Victims of Trafficking in Persons, especially Women and Children: "
                "2012 pledges"
            ),
            "goal_usd": Decimal("10000000.00"),
            "starts_on": DAY,
        },
    )
    event, _ = Event.objects.get_or_create(
        slug="ga-dialogue-2012",
        defaults={
            "campaign": campaign,
            "title": (
                "Fighting Human Trafficking: Partnership and Innovation to End Violence against Women and Children "
                "(interactive dialogue of the General Assembly)"
            ),
            "venue": "Conference Room 2, United Nations Headquarters, New York",
            "held_on": DAY,
            "convened_by": (
                "The President of the General Assembly, with UNODC and the Group of Friends United against "
                "Human Trafficking"
            ),
        },
    )
    for slug, title, starts, ends in SESSIONS:
        EventSession.objects.get_or_create(
            event=event, slug=slug, defaults={"title": title, "starts_at": at(starts), "ends_at": at(ends)}
        )


# --- The staff roles ----------------------------------------------------------

ROLES = ("viewer", "reconciler", "fund_admin")


def roles_create(apps):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


# --- Titles in the six UN languages (django-modeltranslation's title_<lang>) ---

TITLES_2012 = {
    ("campaign", "vtf-2012"): {
        "ar": "صندوق الأمم المتحدة الاستئماني للتبرعات لضحايا الاتجار بالأشخاص، "
        "ولا سيما النساء والأطفال: تعهدات عام 2012",
        "zh_hans": "联合国人口贩运活动受害者特别是妇女和儿童自愿信托基金：2012年认捐",
        "fr": "Fonds de contributions volontaires des Nations Unies en faveur des victimes de la traite des personnes, "
        "en particulier des femmes et des enfants : contributions annoncées en 2012",
        "ru": "Целевой фонд добровольных взносов Организации Объединенных Наций для жертв торговли людьми, "
        "особенно женщин и детей: обязательства 2012 года",
        "es": "Fondo Fiduciario de Contribuciones Voluntarias de las Naciones Unidas para las Víctimas de la Trata de "
        "Personas, Especialmente Mujeres y Niños: promesas de 2012",
    },
    ("event", "ga-dialogue-2012"): {
        "ar": "مكافحة الاتجار بالبشر: الشراكة والابتكار من أجل إنهاء العنف ضد النساء والأطفال "
        "(حوار تفاعلي للجمعية العامة)",
        "zh_hans": "打击人口贩运：以伙伴关系和创新终止对妇女和儿童的暴力行为（大会互动对话）",
        "fr": "Lutter contre la traite des êtres humains : partenariat et innovation pour mettre fin à la violence "
        "à l’égard des femmes et des enfants (débat interactif de l’Assemblée générale)",
        "ru": "Борьба с торговлей людьми: партнерство и инновации в целях искоренения насилия в отношении женщин "
        "и детей (интерактивный диалог Генеральной Ассамблеи)",
        "es": "La lucha contra la trata de personas: alianzas e innovación para poner fin a la violencia contra las "
        "mujeres y los niños (diálogo interactivo de la Asamblea General)",
    },
    ("eventsession", "opening"): {
        "ar": "الكلمات الافتتاحية",
        "zh_hans": "开幕致辞",
        "fr": "Déclarations liminaires",
        "ru": "Вступительные заявления",
        "es": "Declaraciones de apertura",
    },
    ("eventsession", "panel-1"): {
        "ar": "حلقة النقاش الأولى: حماية ضحايا الاتجار: الشراكات والابتكار",
        "zh_hans": "第一小组：保护人口贩运受害者：伙伴关系与创新",
        "fr": "Table ronde I : protéger les victimes de la traite : partenariats et innovation",
        "ru": "Дискуссионная группа I: защита жертв торговли людьми: партнерство и инновации",
        "es": "Mesa redonda I: protección de las víctimas de la trata: alianzas e innovación",
    },
    ("eventsession", "panel-2"): {
        "ar": "حلقة النقاش الثانية: مساعدة ضحايا الاتجار: دور الحكومات والمنظمات الدولية والقطاع الخاص والمجتمع المدني",
        "zh_hans": "第二小组：援助人口贩运受害者：各国政府、国际组织、私营部门和民间社会的作用",
        "fr": "Table ronde II : aide aux victimes de la traite : le rôle des gouvernements, des organisations "
        "internationales, du secteur privé et de la société civile",
        "ru": "Дискуссионная группа II: помощь жертвам торговли людьми: роль правительств, международных "
        "организаций, частного сектора и гражданского общества",
        "es": "Mesa redonda II: asistencia a las víctimas de la trata: el papel de los gobiernos, las organizaciones "
        "internacionales, el sector privado y la sociedad civil",
    },
    ("eventsession", "closing"): {
        "ar": "الكلمات الختامية",
        "zh_hans": "闭幕致辞",
        "fr": "Déclarations de clôture",
        "ru": "Заключительные заявления",
        "es": "Declaraciones de clausura",
    },
}


def titles_translate(apps):
    """Every title without an English one gets its own as English; the 2012
    dialogue gets its titles in all six languages where one is missing."""
    for model_name in ("campaign", "event", "eventsession"):
        Model = apps.get_model("pledges", model_name)
        Model.objects.filter(title_en__isnull=True).update(title_en=models.F("title"))
    for (model_name, slug), titles in TITLES_2012.items():
        Model = apps.get_model("pledges", model_name)
        rows = Model.objects.filter(slug=slug)
        if model_name == "eventsession":
            rows = rows.filter(event__slug="ga-dialogue-2012")
        for row in rows:
            for language, title in titles.items():
                if not getattr(row, f"title_{language}"):
                    setattr(row, f"title_{language}", title)
            row.save()


# --- Donor type and earmark labels, editable by staff (text_<lang>) -----------

# (kind, value): English, Arabic, Chinese, French, Russian, Spanish
LABELS = {
    ("donor_type", "member_state"): (
        "Member State",
        "دولة عضو",
        "会员国",
        "État Membre",
        "Государство-член",
        "Estado Miembro",
    ),
    ("donor_type", "observer_state"): (
        "Observer State",
        "دولة مراقبة",
        "观察员国",
        "État observateur",
        "Государство-наблюдатель",
        "Estado observador",
    ),
    ("donor_type", "intergovernmental"): (
        "Intergovernmental organization",
        "منظمة حكومية دولية",
        "政府间组织",
        "Organisation intergouvernementale",
        "Межправительственная организация",
        "Organización intergubernamental",
    ),
    ("donor_type", "un_entity"): (
        "United Nations entity",
        "كيان تابع للأمم المتحدة",
        "联合国实体",
        "Entité des Nations Unies",
        "Структура Организации Объединенных Наций",
        "Entidad de las Naciones Unidas",
    ),
    ("donor_type", "private_sector"): (
        "Private sector",
        "القطاع الخاص",
        "私营部门",
        "Secteur privé",
        "Частный сектор",
        "Sector privado",
    ),
    ("donor_type", "foundation"): ("Foundation", "مؤسسة", "基金会", "Fondation", "Фонд (организация)", "Fundación"),
    ("donor_type", "civil_society"): (
        "Civil society",
        "المجتمع المدني",
        "民间社会",
        "Société civile",
        "Гражданское общество",
        "Sociedad civil",
    ),
    ("donor_type", "individual"): ("Individual", "فرد", "个人", "Particulier", "Частное лицо", "Particular"),
    ("earmark", "unrestricted"): (
        "Unrestricted",
        "غير مخصص",
        "不指定用途",
        "Sans affectation",
        "Без целевого назначения",
        "Sin asignación",
    ),
    ("earmark", "children"): (
        "Assistance to trafficked children",
        "مساعدة الأطفال ضحايا الاتجار",
        "援助被贩运儿童",
        "Aide aux enfants victimes de la traite",
        "Помощь детям — жертвам торговли людьми",
        "Asistencia a niños víctimas de la trata",
    ),
    ("earmark", "women_and_girls"): (
        "Assistance to trafficked women and girls",
        "مساعدة النساء والفتيات ضحايا الاتجار",
        "援助被贩运妇女和女童",
        "Aide aux femmes et aux filles victimes de la traite",
        "Помощь женщинам и девочкам — жертвам торговли людьми",
        "Asistencia a mujeres y niñas víctimas de la trata",
    ),
    ("earmark", "direct_assistance"): (
        "Direct assistance to victims through grants to NGOs",
        "مساعدة مباشرة للضحايا عبر منح للمنظمات غير الحكومية",
        "通过向非政府组织提供赠款直接援助受害者",
        "Aide directe aux victimes par des subventions aux ONG",
        "Прямая помощь жертвам через гранты НПО",
        "Asistencia directa a las víctimas mediante subvenciones a ONG",
    ),
}
COLUMNS = ("en", "ar", "zh_hans", "fr", "ru", "es")


def choice_labels_create(apps):
    ChoiceLabel = apps.get_model("pledges", "ChoiceLabel")
    for (kind, value), texts in LABELS.items():
        fields = {f"text_{code}": text for code, text in zip(COLUMNS, texts, strict=True)}
        ChoiceLabel.objects.get_or_create(kind=kind, value=value, defaults={"text": texts[0], **fields})


def reference_data_create(apps, schema_editor=None):
    """The rows every database starts with; each is created only if missing."""
    dialogue_create(apps)
    roles_create(apps)
    titles_translate(apps)
    choice_labels_create(apps)


# --- Append-only tables (PostgreSQL) ------------------------------------------


def append_only(table: str, what: str) -> migrations.RunPython:
    """The operation that makes PostgreSQL refuse UPDATE and DELETE on `table`
    (a trigger and its function, both named `<table>_append_only`), with
    `what` in the error; going back drops them. Other databases get nothing:
    the models refuse there."""
    name = f"{table}_append_only"
    forward = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{what} is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {name}
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    backward = f"""
DROP TRIGGER IF EXISTS {name} ON {table};
DROP FUNCTION IF EXISTS {name}();
"""
    return migrations.RunPython(_on_postgresql(forward), _on_postgresql(backward))


def _on_postgresql(sql: str):
    def execute(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return execute


# --- Indexes for statement matching's donor rule (PostgreSQL) -----------------

OPEN = "('submitted', 'announced', 'confirmed', 'partially_paid')"
MATCHING_INDEXES = {
    "pledges_donor_name_trgm": "pledges_donor USING gin (name gin_trgm_ops)",
    "pledges_pledge_open_unpaid_amount": (
        f"pledges_pledge (currency, amount) INCLUDE (id, donor_id) WHERE amount_paid = 0 AND status IN {OPEN}"
    ),
    "pledges_pledge_open_currency": f"pledges_pledge (id) INCLUDE (currency, donor_id) WHERE status IN {OPEN}",
    "pledges_instalment_amount_pledge": "pledges_instalment (amount) INCLUDE (id, pledge_id)",
}


def matching_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in MATCHING_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def matching_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in MATCHING_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


# --- The status history from the audit trail -----------------------------------
# Each audit record of a pledge or of its money whose new values name a status
# different from the one before it becomes one `PledgeStatusChange` (the first
# from "", or from the status its old values name), with the record's moment,
# actor and reason, pointing at it. Going back empties the history (TRUNCATE
# on PostgreSQL, which the append-only trigger does not refuse). Rows written
# since were written next to an audit record, so going forward again rebuilds
# them all.

BATCH = 2000
STATUSES = {"submitted", "announced", "confirmed", "partially_paid", "paid", "cancelled", "lapsed"}


def _status(values) -> str:
    status = values.get("status") if isinstance(values, dict) else None
    return status if status in STATUSES else ""


def status_history_from_audit(apps, schema_editor):
    AuditEvent = apps.get_model("pledges", "AuditEvent")
    PledgeStatusChange = apps.get_model("pledges", "PledgeStatusChange")
    events = (
        AuditEvent.objects.filter(pledge__isnull=False, object_type__in=("pledge", "payment"))
        .order_by("pledge_id", "occurred_at", "id")
        .values_list(
            "id",
            "pledge_id",
            "occurred_at",
            "actor_kind",
            "actor_user_id",
            "actor_label",
            "reason",
            "old_values",
            "new_values",
        )
    )
    rows, pledge_id, previous, since = [], None, "", None
    for event_id, event_pledge, occurred_at, kind, user_id, label, reason, old_values, new_values in events.iterator(
        BATCH
    ):
        new_status = _status(new_values)
        if event_pledge != pledge_id:
            pledge_id, previous, since = event_pledge, "", None
        if not new_status:
            continue
        old_status = previous or _status(old_values)
        previous = new_status
        if new_status == old_status:
            continue
        since, old_status_since = occurred_at, since
        rows.append(
            PledgeStatusChange(
                pledge_id=pledge_id,
                old_status=old_status,
                new_status=new_status,
                at=occurred_at,
                old_status_since=old_status_since,
                actor_kind=kind,
                actor_user_id=user_id,
                actor_label=label,
                reason=reason,
                audit_event_id=event_id,
            )
        )
        if len(rows) >= BATCH:
            PledgeStatusChange.objects.bulk_create(rows)
            rows = []
    PledgeStatusChange.objects.bulk_create(rows)


def status_history_empty(apps, schema_editor):
    PledgeStatusChange = apps.get_model("pledges", "PledgeStatusChange")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"TRUNCATE {PledgeStatusChange._meta.db_table}", params=None)
    else:
        PledgeStatusChange.objects.all().delete()
