"""How every public document reads If-None-Match (pledges.public_cache.
etag_offered): the totals, the public pledges, the board's figures, the
widget's files and the fast path all answer 304 on the same offers."""

import pytest

from pledges.public_cache import etag_offered

ETAG = '"v1-3f2a"'


@pytest.mark.parametrize(
    ("header", "answers_304"),
    [
        ('"v1-3f2a"', True),
        ('W/"v1-3f2a"', True),  # a compressing proxy weakened our tag
        ('"old", "v1-3f2a"', True),
        ('"old",W/"v1-3f2a"', True),
        ("*", True),
        ('"old"', False),
        ('"v1-3f2"', False),
        ("v1-3f2a", False),  # a tag without its quotes is another tag
        ("", False),
        (None, False),
        (",,,", False),
    ],
)
def test_an_offered_etag_is_compared_weakly_and_star_offers_any(header, answers_304):
    assert etag_offered(header, ETAG) is answers_304


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/public/totals/",
        "/api/v1/public/pledges/",
        "/en/board/vtf-2012/live.json",
        "/widget/v1/totals.js",
        "/widget/v1/figures.json",
    ],
)
def test_each_public_document_answers_star_and_a_weakened_tag_with_304(client, path):
    first = client.get(path)
    assert first.status_code == 200

    assert client.get(path, HTTP_IF_NONE_MATCH="*").status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH=f"W/{first['ETag']}").status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH='"another"').status_code == 200
