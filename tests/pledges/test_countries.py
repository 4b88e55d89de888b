"""UN short names of Member States and observers in the six languages."""

import pytest
from babel import Locale

from pledges.countries import BABEL_LOCALES, LANGUAGES, OBSERVER_STATES, UN_OVERRIDES, country_name

OBSERVERS = {
    "VA": {"en": "Holy See", "fr": "Saint-Siège", "es": "Santa Sede", "ru": "Святейший Престол", "zh-hans": "教廷",
           "ar": "الكرسي الرسولي"},
    "PS": {"en": "State of Palestine", "fr": "État de Palestine", "es": "Estado de Palestina",
           "ru": "Государство Палестина", "zh-hans": "巴勒斯坦国", "ar": "دولة فلسطين"},
}  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_observer_states_go_by_their_un_names_in_every_language(language):
    for code in OBSERVER_STATES:
        assert country_name(code, language) == OBSERVERS[code][language]


def test_un_usage_wins_over_cldr_where_they_differ():
    assert Locale.parse("en").territories["VA"] == "Vatican City"  # what CLDR says
    assert country_name("VA", "en") == "Holy See"
    assert country_name("KR", "en") == "Republic of Korea"
    assert country_name("GB", "fr") == "Royaume-Uni de Grande-Bretagne et d’Irlande du Nord"
    assert country_name("BA", "en") == "Bosnia and Herzegovina"  # not CLDR's "&"


def test_where_the_un_has_no_other_name_cldr_gives_it_in_the_language():
    assert country_name("NO", "fr") == "Norvège"
    assert country_name("JP", "zh-hans") == "日本"
    assert country_name("QA", "ar") == "قطر"


def test_unknown_codes_and_no_code_give_no_invented_name():
    assert country_name("XX", "en") == "XX"
    assert country_name("", "en") == ""
    assert country_name(None, "ar") == ""
    assert country_name("va", "en") == "Holy See"


def test_every_override_is_a_real_territory_in_one_of_the_six_languages():
    territories = set(Locale.parse("en").territories)
    for code, names in UN_OVERRIDES.items():
        assert code in territories, code
        assert set(names) <= set(BABEL_LOCALES), code
        assert all(name.strip() for name in names.values()), code
