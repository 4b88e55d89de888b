"""Country names as the United Nations writes them, in the six official
languages.

The names come from the Unicode CLDR through Babel (maintained, updated
with each Babel release). Where UN usage differs from CLDR (the UNTERM short
names of Member States and observers: "Holy See", not "Vatican City";
"State of Palestine", not "Palestinian Territories"; "Republic of Korea",
not "South Korea"), the UN name wins; every such difference is in
UN_OVERRIDES below and nowhere else.
"""

from functools import cache

from babel import Locale

# Django's language code -> Babel's locale.
BABEL_LOCALES = {"ar": "ar", "zh-hans": "zh_Hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}
LANGUAGES = tuple(BABEL_LOCALES)

# The two non-member observer States of the General Assembly.
OBSERVER_STATES = ("VA", "PS")

# ISO 3166-1 code -> {language: UN short name}. A language left out keeps
# CLDR's name, which already matches UN usage there.
UN_OVERRIDES: dict[str, dict[str, str]] = {
    "VA": {
        "en": "Holy See",
        "fr": "Saint-Siège",
        "es": "Santa Sede",
        "ru": "Святейший Престол",
        "zh-hans": "教廷",
        "ar": "الكرسي الرسولي",
    },
    "PS": {
        "en": "State of Palestine",
        "fr": "État de Palestine",
        "es": "Estado de Palestina",
        "ru": "Государство Палестина",
        "zh-hans": "巴勒斯坦国",
        "ar": "دولة فلسطين",
    },
    "GB": {
        "en": "United Kingdom of Great Britain and Northern Ireland",
        "fr": "Royaume-Uni de Grande-Bretagne et d’Irlande du Nord",
        "es": "Reino Unido de Gran Bretaña e Irlanda del Norte",
        "ru": "Соединенное Королевство Великобритании и Северной Ирландии",
        "zh-hans": "大不列颠及北爱尔兰联合王国",
        "ar": "المملكة المتحدة لبريطانيا العظمى وأيرلندا الشمالية",
    },
    "US": {
        "en": "United States of America",
        "fr": "États-Unis d’Amérique",
        "es": "Estados Unidos de América",
        "ru": "Соединенные Штаты Америки",
        "zh-hans": "美利坚合众国",
        "ar": "الولايات المتحدة الأمريكية",
    },
    "RU": {
        "en": "Russian Federation",
        "fr": "Fédération de Russie",
        "es": "Federación de Rusia",
        "ru": "Российская Федерация",
        "zh-hans": "俄罗斯联邦",
        "ar": "الاتحاد الروسي",
    },
    "KR": {
        "en": "Republic of Korea",
        "fr": "République de Corée",
        "es": "República de Corea",
        "ru": "Республика Корея",
        "zh-hans": "大韩民国",
        "ar": "جمهورية كوريا",
    },
    "KP": {
        "en": "Democratic People’s Republic of Korea",
        "fr": "République populaire démocratique de Corée",
        "es": "República Popular Democrática de Corea",
        "ru": "Корейская Народно-Демократическая Республика",
        "zh-hans": "朝鲜民主主义人民共和国",
        "ar": "جمهورية كوريا الشعبية الديمقراطية",
    },
    "IR": {
        "en": "Iran (Islamic Republic of)",
        "fr": "Iran (République islamique d’)",
        "es": "Irán (República Islámica del)",
        "ru": "Иран (Исламская Республика)",
        "zh-hans": "伊朗伊斯兰共和国",
        "ar": "إيران (جمهورية - الإسلامية)",
    },
    "SY": {
        "en": "Syrian Arab Republic",
        "fr": "République arabe syrienne",
        "es": "República Árabe Siria",
        "ru": "Сирийская Арабская Республика",
        "zh-hans": "阿拉伯叙利亚共和国",
        "ar": "الجمهورية العربية السورية",
    },
    "BO": {
        "en": "Bolivia (Plurinational State of)",
        "fr": "Bolivie (État plurinational de)",
        "es": "Bolivia (Estado Plurinacional de)",
        "ru": "Боливия (Многонациональное Государство)",
        "zh-hans": "多民族玻利维亚国",
        "ar": "بوليفيا (دولة - المتعددة القوميات)",
    },
    "VE": {
        "en": "Venezuela (Bolivarian Republic of)",
        "fr": "Venezuela (République bolivarienne du)",
        "es": "Venezuela (República Bolivariana de)",
        "ru": "Венесуэла (Боливарианская Республика)",
        "zh-hans": "委内瑞拉玻利瓦尔共和国",
        "ar": "فنزويلا (جمهورية - البوليفارية)",
    },
    "TZ": {
        "en": "United Republic of Tanzania",
        "fr": "République-Unie de Tanzanie",
        "es": "República Unida de Tanzanía",
        "ru": "Объединенная Республика Танзания",
        "zh-hans": "坦桑尼亚联合共和国",
        "ar": "جمهورية تنزانيا المتحدة",
    },
    "MD": {
        "en": "Republic of Moldova",
        "fr": "République de Moldova",
        "es": "República de Moldova",
        "ru": "Республика Молдова",
        "zh-hans": "摩尔多瓦共和国",
        "ar": "جمهورية مولدوفا",
    },
    "LA": {
        "en": "Lao People’s Democratic Republic",
        "fr": "République démocratique populaire lao",
        "es": "República Democrática Popular Lao",
        "ru": "Лаосская Народно-Демократическая Республика",
        "zh-hans": "老挝人民民主共和国",
        "ar": "جمهورية لاو الديمقراطية الشعبية",
    },
    "VN": {
        "en": "Viet Nam",
        "fr": "Viet Nam",
        "es": "Viet Nam",
        "ru": "Вьетнам",
        "zh-hans": "越南",
        "ar": "فييت نام",
    },
    "CD": {
        "en": "Democratic Republic of the Congo",
        "fr": "République démocratique du Congo",
        "es": "República Democrática del Congo",
        "ru": "Демократическая Республика Конго",
        "zh-hans": "刚果民主共和国",
        "ar": "جمهورية الكونغو الديمقراطية",
    },
    "CG": {
        "en": "Congo",
        "fr": "Congo",
        "es": "Congo",
        "ru": "Конго",
        "zh-hans": "刚果",
        "ar": "الكونغو",
    },
    "FM": {
        "en": "Micronesia (Federated States of)",
        "fr": "Micronésie (États fédérés de)",
        "es": "Micronesia (Estados Federados de)",
        "ru": "Микронезия (Федеративные Штаты)",
        "zh-hans": "密克罗尼西亚联邦",
        "ar": "ميكرونيزيا (ولايات - الموحدة)",
    },
    "BN": {
        "en": "Brunei Darussalam",
        "fr": "Brunéi Darussalam",
        "es": "Brunei Darussalam",
        "ru": "Бруней-Даруссалам",
        "zh-hans": "文莱达鲁萨兰国",
        "ar": "بروني دار السلام",
    },
    "CV": {"en": "Cabo Verde", "fr": "Cabo Verde", "es": "Cabo Verde", "ar": "كابو فيردي"},
    "MM": {"en": "Myanmar", "fr": "Myanmar", "es": "Myanmar", "ru": "Мьянма", "ar": "ميانمار"},
    "BY": {"fr": "Bélarus", "es": "Belarús"},
    "CI": {"en": "Côte d’Ivoire", "ar": "كوت ديفوار"},
    "CZ": {"ar": "تشيكيا"},
    "TR": {"en": "Türkiye", "fr": "Türkiye", "es": "Türkiye"},
    # CLDR's English abbreviates ("&", "St."); the UN spells out.
    "AG": {"en": "Antigua and Barbuda"},
    "BA": {"en": "Bosnia and Herzegovina"},
    "KN": {"en": "Saint Kitts and Nevis"},
    "LC": {"en": "Saint Lucia"},
    "VC": {"en": "Saint Vincent and the Grenadines"},
    "ST": {"en": "Sao Tome and Principe"},
    "TT": {"en": "Trinidad and Tobago"},
}


@cache
def _cldr_names(language: str) -> dict[str, str]:
    return dict(Locale.parse(BABEL_LOCALES.get(language, "en")).territories)


def country_name(code: str | None, language: str) -> str:
    """The UN short name of a country (ISO 3166-1 alpha-2) in one of the
    six languages; CLDR's name where the UN has no other; the code itself
    for a code nobody knows; "" for none."""
    if not code:
        return ""
    code = code.upper()
    language = language if language in BABEL_LOCALES else "en"
    override = UN_OVERRIDES.get(code, {}).get(language)
    if override:
        return override
    return _cldr_names(language).get(code, code)
