"""Write a synthetic NPPES main file (npidata_pfile_*.csv) for benchmarks.

    .venv/bin/python bench/nppes_generate.py 1000000 /tmp/npidata_pfile_bench.csv [--seed 1] [--zip]

The file has the real 330-column layout (header from carepath/directory/data/nppes_header.csv), every value quoted,
CRLF line ends, dates MM/DD/YYYY, as CMS ships it. Rows look like real ones in size and shape: names, credentials,
mailing and practice addresses (9-digit ZIPs for most), phone and fax, 1-3 taxonomy codes with licences,
an authorized official for organizations, and about 2% deactivated NPIs that keep only the NPI and the date.

- NPIs ascend, as in the CMS file, and all pass the check digit.
- Taxonomy codes come from carepath/directory/data/specialties.csv, so every row imports on a fresh database.
- ZIPs are real (the zipcodes package). It has no population, so a ZIP is drawn with a weight equal to the number of
  ZIP codes its city has: a city with 40 ZIPs is a big city, and each of its ZIPs is 40 times as likely as the only
  ZIP of a village. That puts many rows in the large cities, like the real file, without inventing numbers.
"""

import argparse
import csv
import io
import itertools
import random
import sys
import zipfile
from collections import Counter
from pathlib import Path

import zipcodes

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "carepath" / "directory" / "data" / "nppes_header.csv"
SPECIALTIES = ROOT / "carepath" / "directory" / "data" / "specialties.csv"

LAST = "SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ WILSON".split()
LAST += "ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK NGUYEN PATEL".split()
FIRST_F = "MARY PATRICIA JENNIFER LINDA ELIZABETH BARBARA SUSAN JESSICA SARAH KAREN PRIYA MARIA LISA ANNA".split()
FIRST_M = "JAMES ROBERT JOHN MICHAEL DAVID WILLIAM RICHARD JOSEPH THOMAS CHARLES RAJ CARLOS DANIEL PAUL".split()
CREDENTIALS = ["M.D.", "MD", "D.O.", "NP", "PA-C", "DPT", "PT", "RN", "DC", "LCSW", "PHD", "OTR/L", "MD, PHD"]
ORG_WORDS = "HEALTH MEDICAL CARE FAMILY REGIONAL COMMUNITY ORTHOPEDIC NEUROLOGY REHAB THERAPY CLINIC PARTNERS".split()
ORG_KINDS = ["LLC", "PC", "INC", "PLLC", "PA", "LLP"]
STREETS = "MAIN OAK PINE MAPLE CEDAR ELM WASHINGTON LAKE HILL PARK RIVER CHURCH MARKET".split()
STREET_KINDS = ["ST", "AVE", "RD", "BLVD", "DR", "LN", "WAY"]


def npi_with_check_digit(nine):
    """The 10-digit NPI for a 9-digit base: Luhn over '80840' + base, as the NPI standard says."""
    digits = [int(d) for d in "80840" + nine]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:  # the check digit will sit to the right, so these positions are doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return nine + str((10 - total % 10) % 10)


def weighted_zips():
    rows = [z for z in zipcodes.list_all() if z["zip_code_type"] == "STANDARD" and z["active"] and z["country"] == "US"]
    per_city = Counter((z["city"], z["state"]) for z in rows)
    cumulative = list(itertools.accumulate(per_city[(z["city"], z["state"])] for z in rows))
    return rows, cumulative


def date(rng, first_year, last_year):
    return f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(first_year, last_year)}"


def phone(rng, place):
    area = (place["area_codes"] or ["555"])[0]
    return f"{area}{rng.randint(2000000, 9999999)}"


def address(rng):
    return f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"


def postal_code(rng, place):
    # Most practice addresses in the file carry ZIP+4 written as nine digits.
    return place["zip_code"] + (f"{rng.randint(1, 9999):04d}" if rng.random() < 0.7 else "")


def generate(n, out, seed=1):
    header = next(csv.reader(HEADER.open(encoding="utf-8", newline="")))
    col = {name: i for i, name in enumerate(header)}
    sex_column = "Provider Sex Code" if "Provider Sex Code" in col else "Provider Gender Code"
    with SPECIALTIES.open(encoding="utf-8", newline="") as f:
        codes = [row["Code"] for row in csv.DictReader(f)]
    places, cum_weights = weighted_zips()
    rng = random.Random(seed)
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    base = 100_000_000
    for i in range(n):
        row = [""] * len(header)

        def put(name, value, row=row):
            row[col[name]] = value

        npi = npi_with_check_digit(str(base + i * 7))
        put("NPI", npi)
        if rng.random() < 0.02:  # a deactivated NPI keeps only its number and the date
            put("NPI Deactivation Date", date(rng, 2008, 2025))
            writer.writerow(row)
            continue
        individual = rng.random() < 0.75
        put("Entity Type Code", "1" if individual else "2")
        place = rng.choices(places, cum_weights=cum_weights)[0]
        if individual:
            female = rng.random() < 0.5
            put("Provider Last Name (Legal Name)", rng.choice(LAST))
            put("Provider First Name", rng.choice(FIRST_F if female else FIRST_M))
            put("Provider Middle Name", rng.choice(["", "A", "J", "MARIE", "LEE"]))
            put("Provider Name Prefix Text", rng.choice(["", "", "DR.", "MS.", "MR."]))
            put("Provider Name Suffix Text", rng.choice(["", "", "", "", "JR.", "III"]))
            put("Provider Credential Text", rng.choice(CREDENTIALS))
            put(sex_column, "F" if female else "M")
            put("Is Sole Proprietor", rng.choice(["N", "Y", "X"]))
        else:
            name = f"{place['city'].upper()} {rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_KINDS)}"
            put("Provider Organization Name (Legal Business Name)", name)
            put("Employer Identification Number (EIN)", "<UNAVAIL>")
            put("Authorized Official Last Name", rng.choice(LAST))
            put("Authorized Official First Name", rng.choice(FIRST_F + FIRST_M))
            put("Authorized Official Title or Position", rng.choice(["CEO", "OWNER", "ADMINISTRATOR", "CFO"]))
            put("Authorized Official Telephone Number", phone(rng, place))
            put("Is Organization Subpart", "N")
        street = address(rng)
        for kind in ("Mailing", "Practice Location"):
            put(f"Provider First Line Business {kind} Address", street)
            put(f"Provider Second Line Business {kind} Address", rng.choice(["", "", "SUITE 100", "STE 2B"]))
            put(f"Provider Business {kind} Address City Name", place["city"].upper())
            put(f"Provider Business {kind} Address State Name", place["state"])
            put(f"Provider Business {kind} Address Postal Code", postal_code(rng, place))
            put(f"Provider Business {kind} Address Country Code (If outside U.S.)", "US")
            put(f"Provider Business {kind} Address Telephone Number", phone(rng, place))
            put(f"Provider Business {kind} Address Fax Number", rng.choice(["", phone(rng, place)]))
        put("Provider Enumeration Date", date(rng, 2005, 2024))
        put("Last Update Date", date(rng, 2024, 2025))
        if rng.random() < 0.005:  # deactivated once, then reactivated: the row is complete again
            put("NPI Deactivation Date", date(rng, 2010, 2015))
            put("NPI Reactivation Date", date(rng, 2016, 2020))
        k = rng.choice([1, 1, 1, 2, 2, 3])
        for j, code in enumerate(rng.sample(codes, k), start=1):
            put(f"Healthcare Provider Taxonomy Code_{j}", code)
            put(f"Provider License Number_{j}", f"{rng.randint(10000, 999999)}")
            put(f"Provider License Number State Code_{j}", place["state"])
            put(f"Healthcare Provider Primary Taxonomy Switch_{j}", "Y" if j == 1 else "N")
        put("Other Provider Identifier_1", f"{rng.randint(100000, 9999999)}")
        put("Other Provider Identifier Type Code_1", "05")
        put("Other Provider Identifier State_1", place["state"])
        put("Certification Date", date(rng, 2015, 2025) if rng.random() < 0.5 else "")
        writer.writerow(row)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out", help="the .csv to write (keep it under /tmp); with --zip, a .zip holding it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zip", action="store_true", help="write a zip like the one CMS ships")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.zip:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open("npidata_pfile_20050523-20260208.csv", "w", force_zip64=True) as raw:
                with io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
                    generate(args.rows, f, args.seed)
            zf.writestr("npidata_pfile_20050523-20260208_fileheader.csv", HEADER.read_text(encoding="utf-8"))
    else:
        with out.open("w", encoding="utf-8", newline="") as f:
            generate(args.rows, f, args.seed)
    print(f"{args.rows:,} rows written to {out} ({out.stat().st_size / 1e6:,.0f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
