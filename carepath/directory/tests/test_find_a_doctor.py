import pytest

pytestmark = pytest.mark.django_db


def test_form_prefills_the_search(client):
    response = client.get("/find-a-doctor/", {"specialty": "207RR0500X", "near": "20892"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="207RR0500X" selected>Rheumatology</option>' in html
    assert "Rheumatology specialists near Bethesda, MD 20892" in html


def test_specialty_by_name(client):
    response = client.get("/find-a-doctor/", {"specialty": "rheumatology"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params, message",
    [
        ({"near": "abcde"}, "Enter a 5-digit US ZIP code"),
        ({"near": "00000"}, "00000 is not a US ZIP code we know"),
        ({"specialty": "wizardry"}, "We don't know the specialty “wizardry”"),
    ],
)
def test_bad_input_is_a_400_that_explains(client, params, message):
    response = client.get("/find-a-doctor/", params)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
