"""Seeds the benchmark dataset through the API (deterministic: seed 1).

usage: seed.py BASE_URL TOKEN ARTICLES SLUGS_FILE
Per article: 3 tags of 200, 3 citations, one key-point list of 8 points, about 4 KB
of Markdown; 90 % published over two years. Writes the published slugs, one a line.
"""
import json
import random
import sys
import urllib.request

base, token, count, slugs_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
random.seed(1)
tags = [f"Topic {i}" for i in range(200)]
paragraph = ("Mongolia and South Korea discuss trade, culture and mining cooperation; "
             "the envoy expects investment to grow as infrastructure gaps close. ") * 6
slugs = []
for i in range(count):
    published = random.random() < 0.9
    article = {
        "title": f"Article {i}: {random.choice(tags)} and the third neighbour",
        "standfirst": "Why the partnership matters, in one paragraph.",
        "body": "## Background\n\n" + "\n\n".join([paragraph] * 4) + "\n\nSources [1] [2] [3].",
        "status": "published" if published else "draft",
        "key_point_lists": [{"title": "Key points", "points": [f"Point {j} of article {i}" for j in range(8)]}],
        "citations": [{"title": f"Source {j}", "url": f"https://example.com/{i}/{j}"} for j in range(3)],
        "tags": random.sample(tags, 3),
    }
    if published:
        day = random.randint(0, 729)
        article["published_at"] = (
            f"{2024 + day // 365}-{(day % 365) // 31 % 12 + 1:02d}-{day % 28 + 1:02d}T{day % 24:02d}:00:00Z"
        )
    request = urllib.request.Request(
        base + "/api/v1/articles",
        data=json.dumps(article).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer " + token},
    )
    created = json.load(urllib.request.urlopen(request))
    if published:
        slugs.append(created["slug"])
with open(slugs_file, "w") as f:
    f.write("\n".join(slugs) + "\n")
print(f"seeded {count} articles ({len(slugs)} published)", file=sys.stderr)
