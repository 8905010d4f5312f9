import pytest

from carepath.conditions.models import SlideshowPage

pytestmark = pytest.mark.django_db
URL = "/slideshows/rheumatoid-arthritis-myths/"


@pytest.fixture
def show():
    return SlideshowPage.objects.get(slug="rheumatoid-arthritis-myths")


def test_index_lists_every_slideshow(client):
    html = client.get("/slideshows/").content.decode()
    for show in SlideshowPage.objects.live():
        assert f'href="{show.url}"' in html


def test_each_slide_has_its_own_address(client, show):
    slides = list(show.slides)
    for number, slide in enumerate(slides, 1):
        url = URL if number == 1 else f"{URL}{number}/"
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert f"Slide {number} of {len(slides)}" in html
        assert f'<h2 id="slide-heading">{slide.value["heading"]}</h2>'.replace("'", "&#x27;") in html


def test_slides_link_to_previous_and_next(client, show):
    total = len(show.slides)
    first = client.get(URL).content.decode()
    assert 'rel="prev"' not in first
    assert f'rel="next" class="button" href="{URL}2/#slide"' in first
    middle = client.get(f"{URL}2/").content.decode()
    assert f'rel="prev" class="button" href="{URL}#slide"' in middle
    assert f'href="{URL}3/#slide"' in middle
    last = client.get(f"{URL}{total}/").content.decode()
    assert 'rel="next"' not in last


def test_the_list_of_slides_marks_the_current_one(client):
    html = client.get(f"{URL}3/").content.decode()
    assert f'<a href="{URL}3/#slide" aria-current="step">' in html


@pytest.mark.parametrize("number", [0, 99])
def test_a_slide_that_does_not_exist_is_404(client, show, number):
    assert client.get(f"{URL}{number}/").status_code == 404


def test_slideshow_is_labelled_demo_with_sources(client):
    html = client.get(URL).content.decode()
    assert "Demo content." in html and "Not yet medically reviewed." in html
    assert '<details class="sources"' in html


def test_slide_canonical_urls(client):
    assert f'<link rel="canonical" href="http://testserver{URL}3/">' in client.get(f"{URL}3/").content.decode()
