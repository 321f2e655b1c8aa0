"""A seeded fuzz of the REST API over the routes of its own OpenAPI document: no input may produce a 5xx."""

import json
import random

from serving_test_support import MODEL

_ATOMS = [None, True, False, 0, -1, 1.5, 2 ** 63, -(2 ** 70), float("inf"), "", "text", "\ud800", "é日本",
          {"b64": "aGk="}, {"b64": "%%%"}, {"b64": 5}, [], {}]
_KEYS = ["instances", "inputs", "signature_name", "examples", "context", "text", "b64", "", "\x00"]


def _value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return rng.choice(_ATOMS)
    if roll < 0.7:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(_KEYS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _path(rng: random.Random, template: str) -> str:
    names = [MODEL, "nope", "%ff", "a%2Fb", "x" * 300]
    replacements = {"{model_name}": rng.choice(names), "{version}": rng.choice(["1", "2", "9", "0", "-1"]),
                    "{label}": rng.choice(["stable", "canary", "", "%C3%A9"])}
    for key, value in replacements.items():
        template = template.replace(key, value)
    return template


def _body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    document = {rng.choice(_KEYS): _value(rng) for _ in range(rng.randint(0, 3))}
    if roll < 0.5:
        document["instances"] = _value(rng, 1)
    return json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")


def test_random_requests_never_get_a_5xx(rest):
    _, document = rest.call("GET", "/v1/openapi.json")
    routes = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    rng = random.Random(2025)
    statuses = {}
    for _ in range(400):
        method, template = rng.choice(routes)
        path = _path(rng, template)
        status, answer = rest.call(method, path, _body(rng) if method == "POST" else None)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (method, path, answer)
        if status != 200 and not path.startswith("/monitoring"):
            assert isinstance(answer, dict) and answer.get("error"), (method, path, answer)
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0
    assert rest.call("GET", "/v1/ready")[0] == 200
