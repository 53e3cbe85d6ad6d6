"""JSON, strings and dicts: a small log-processing job.

Builds records, round-trips them through json.dumps/json.loads, renders
each as a text line, parses the lines back with str methods, and
aggregates them in dicts (counts per city and per tag, a word index).  The
check recounts the same aggregates by integer arithmetic on the record
numbers, without strings, JSON or dicts.
"""

import json

import benchlib

CITIES = ["Lisbon", "Oslo", "Quito", "Nairobi", "Hanoi"]
TAGS = ["red", "green", "blue", "cyan", "magenta", "yellow", "black",
        "white", "orange", "purple", "olive"]
STRIDES = (1, 3, 7)


def make_record(i):
    return {
        "id": i,
        "name": "user%05d" % i,
        "email": "user{:05d}@example.org".format(i),
        "tags": [TAGS[(i * stride) % len(TAGS)] for stride in STRIDES],
        "score": i * 0.25,
        "active": i % 3 == 0,
        "address": {"city": CITIES[i % len(CITIES)],
                    "zip": "%05d" % (i * 7 % 100000)},
    }


def render_line(record):
    address = record["address"]
    return (f"{record['id']};{record['name'].upper()};{record['email']};"
            f"{'|'.join(record['tags'])};{record['score']:.2f};"
            f"{'yes' if record['active'] else 'no'};"
            f"{address['city'].lower()}:{address['zip']}")


def parse_line(line):
    ident, name, email, tags, score, active, place = line.split(";")
    city, _, postcode = place.partition(":")
    return {"id": int(ident), "name": name.lower(),
            "user": email[:email.index("@")], "tags": tags.split("|"),
            "score": float(score), "active": active == "yes",
            "city": city.title(), "zip": postcode}


def process(n):
    records = [make_record(i) for i in range(n)]
    text = json.dumps(records, sort_keys=True)
    loaded = json.loads(text)
    if loaded != records:
        raise benchlib.BenchmarkError("JSON round trip changed the records")
    per_city = {}
    per_tag = {}
    active_score = 0.0
    names = {}
    for line in map(render_line, loaded):
        entry = parse_line(line)
        per_city[entry["city"]] = per_city.get(entry["city"], 0) + 1
        for tag in entry["tags"]:
            per_tag.setdefault(tag, []).append(entry["id"])
        if entry["active"]:
            active_score += entry["score"]
        if entry["name"] != entry["user"]:
            raise benchlib.BenchmarkError("name and e-mail disagree: %r"
                                          % line)
        names[entry["name"]] = entry["zip"]
    tag_counts = {tag: len(ids) for tag, ids in per_tag.items()}
    return per_city, tag_counts, active_score, len(names), len(text)


def work(params):
    n, rounds = params
    return [process(n) for _ in range(rounds)]


def verify(results, params):
    n, rounds = params
    benchlib.check_equal("rounds", len(results), rounds)
    want_city = {}
    want_tags = {}
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        want_city[city] = want_city.get(city, 0) + 1
        for stride in STRIDES:
            tag = TAGS[(i * stride) % len(TAGS)]
            want_tags[tag] = want_tags.get(tag, 0) + 1
    # Active records are the multiples of 3; their scores are i / 4.
    active = (n - 1) // 3 + 1
    want_score = 0.25 * 3 * (active - 1) * active / 2
    for per_city, tag_counts, score, distinct, length in results:
        benchlib.check_equal("per city", per_city, want_city)
        benchlib.check_equal("per tag", tag_counts, want_tags)
        benchlib.check_close("active score", score, want_score, 1e-6)
        benchlib.check_equal("distinct names", distinct, n)
        benchlib.check(length > 100 * n, "JSON text too short")


if __name__ == "__main__":
    benchlib.main("json_str_dict", work,
                  {"quick": (200, 1), "normal": (20000, 5)}, verify)
