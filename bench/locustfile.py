"""Mixed load on a `make serve` instance: readers of guides and slideshows, searchers, people finding a doctor,
sharing a page and writing a review. Rate-limited refusals (429) are expected answers, not errors.
Each simulated reader has an address of its own, sent as a load balancer would in X-Forwarded-For: run the server
with TRUSTED_PROXIES=1, or every reader shares one address and one rate limit.

    .venv/bin/pip install -e '.[bench]'
    TRUSTED_PROXIES=1 make serve   # and in another shell:
    .venv/bin/locust -f bench/locustfile.py --headless -u 200 -r 20 -t 5m --host http://127.0.0.1:8000 --csv var/locust

Anything else that is not a 2xx or 3xx is counted as a failure. Site searches (lay words, misspellings, other names,
as bench/search_queries.toml has them) and provider searches each go through both the page and the API.
"""

import random
import re

from locust import HttpUser, between, task

GUIDES = [
    "muscle-atrophy", "stroke", "rheumatoid-arthritis", "osteoarthritis", "osteoporosis", "multiple-sclerosis",
    "spinal-muscular-atrophy", "als", "sarcopenia", "gout", "lupus", "low-back-pain",
]  # fmt: skip
SLIDESHOWS = [
    "rheumatoid-arthritis-myths",
    "things-to-avoid-with-rheumatoid-arthritis",
    "ways-to-ease-psoriatic-arthritis-pain",
]
ZIPS = ["10001", "60601", "94103", "20892", "77030", "98101", "02115", "30303"]
SPECIALTIES = ["207X00000X", "2084N0400X", "207RR0500X", "208100000X", "Orthopaedic Surgery", "neurology"]
SEARCHES = [
    "wasting muscles", "weak bones that break easily", "swollen painful big toe", "sore lower back",
    "pins and needles in hands and feet", "lupis", "osteoporsis", "stiff shoulder can't lift arm", "lou gehrig",
    "pain all over body and tired", "face drooping arm weakness slurred speech", "numb feet from diabetes",
]  # fmt: skip
PROFILE_RE = re.compile(r'href="(/find-a-doctor/\d{10}/)"')


class Reader(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.profiles = []
        # As the TLS-terminating proxy in front of `make serve` would say: the reader came over HTTPS. The site's
        # cookies are Secure, so the client (speaking plain HTTP to the app) hands them back itself.
        self.client.headers["X-Forwarded-Proto"] = "https"
        self.client.headers["X-Forwarded-For"] = f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"
        self.origin = self.host.replace("http://", "https://")

    def expect(self, response, *statuses):
        if response.status_code in statuses:
            response.success()
        else:
            response.failure(f"unexpected {response.status_code}")

    @task(10)
    def guide(self):
        self.client.get(f"/conditions/{random.choice(GUIDES)}/", name="/conditions/<slug>/")

    @task(3)
    def slideshow(self):
        if random.random() < 0.5:
            self.client.get(f"/slideshows/{random.choice(SLIDESHOWS)}/", name="/slideshows/<slug>/<n>/")
        else:
            number = random.randint(2, 10)
            self.client.get(f"/slideshows/{SLIDESHOWS[0]}/{number}/", name="/slideshows/<slug>/<n>/")

    @task(2)
    def indexes(self):
        self.client.get(random.choice(["/conditions/", "/slideshows/", "/"]), name="index pages")

    @task(4)
    def search(self):
        q = random.choice(SEARCHES)
        if random.random() < 0.5:
            self.client.get("/search/", params={"q": q}, name="/search/?q=")
        else:
            self.client.get("/api/v1/search", params={"q": q}, name="/api/v1/search?q=")

    @task(4)
    def find_a_doctor(self):
        params = {"specialty": random.choice(SPECIALTIES), "near": random.choice(ZIPS), "sort": "rating"}
        with self.client.get("/find-a-doctor/", params=params, name="/find-a-doctor/?...", catch_response=True) as r:
            self.expect(r, 200)
            self.profiles = PROFILE_RE.findall(r.text)[:10] or self.profiles
        self.client.get("/api/v1/providers", params=params, name="/api/v1/providers?...")

    @task(4)
    def profile(self):
        if self.profiles:
            self.client.get(random.choice(self.profiles), name="/find-a-doctor/<npi>/")

    def token(self):
        response = self.client.get("/csrf-token", name="/csrf-token")
        self.csrf_cookie = response.cookies.get("csrftoken") or getattr(self, "csrf_cookie", "")
        return response.json()["token"]

    def form_headers(self, page):
        return {"Cookie": f"csrftoken={self.csrf_cookie}", "Referer": self.origin + page}

    @task(1)
    def share(self):
        slug = random.choice(GUIDES)
        data = {"csrfmiddlewaretoken": self.token(), "recipient": "family@example.org", "note": "Worth a read"}
        page = f"/conditions/{slug}/"
        with self.client.post(
            page + "share/",
            data=data,
            headers=self.form_headers(page),
            name="share",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            self.expect(r, 302, 429)

    @task(1)
    def review(self):
        if not self.profiles:
            return
        data = {
            "csrfmiddlewaretoken": self.token(),
            "stars": str(random.randint(1, 5)),
            "text": "Load test review.",
            "email": f"reader{random.randint(1, 10**6)}@example.org",
            "attested_visit": "on",
        }
        page = random.choice(self.profiles)
        with self.client.post(
            page + "review/", data=data, headers=self.form_headers(page), name="review", catch_response=True
        ) as r:
            self.expect(r, 200, 429)
