"""Schemas, files and calls shared by the bulk-import tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import set_mode

# The extension of the reference's sample file (Address.AddressType, .PostCode, .Address, .County, .City, .Country).
ADDRESS = {
    "name": "Address", "type": "single-valued",
    "attributes": [
        {"name": "AddressType", "type": "integer"},
        {"name": "PostCode", "type": "string", "length": 10},
        {"name": "Address", "type": "string"},
        {"name": "County", "type": "string"},
        {"name": "City", "type": "string"},
        {"name": "Country", "type": "string"},
    ],
}
PHONE_KEY = {"name": "by_phone", "source": "profile", "attributes": ["PhoneNumber"], "normalize": "phone"}
EMAIL_KEY = {"name": "by_email", "source": "profile", "attributes": ["EmailAddress"]}
CITY_KEY = {"name": "by_city", "source": "Address", "attributes": ["City"]}

SAMPLE_HEADER = ("FirstName, LastName, PhoneNumber[2], PhoneNumber[1], EmailAddress, Address.AddressType, "
                 "Address.PostCode,Address.Address, Address.County, Address.City, Address.Country")
# Records shaped like the reference's sample, a quoted value holding the delimiter and a line break included.
SAMPLE = SAMPLE_HEADER + """
kertuleordi,gusch,1-355-530-4087,1-204-489-2084,kertuleordi@gusch.net,7,4703,"25,
et malesuada vulputate Proin",Pomona,Germany,Fullerton
danye,hna,1-551-483-3810,1-455-658-9039,danye@hna.net,6,5101,blabl Donec,Kailua,East Timor,Duluth
almady,vanah,1-215-196-0375,1-632-596-1889,almady@vanah.net,0,4602,facilisis fermentum,Irving,Cambodia,Jackson
"""


def write_csv(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write an import file (CRLF-free, as given) into `directory`."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


async def post_import(client: httpx.AsyncClient, description: dict[str, Any], upload: bytes | None = None,
                      filename: str = "upload.csv", headers: dict[str, str] | None = None) -> httpx.Response:
    """POST /profiles/import: the description part, and the file as a `profiles` part when given."""
    files: dict[str, Any] = {"description": (None, json.dumps(description), "application/json")}
    if upload is not None:
        files["profiles"] = (filename, upload, "text/csv")
    return await client.post("/profiles/import", files=files, headers=headers)


async def prepare(client: httpx.AsyncClient, *keys: dict[str, Any], address: bool = True) -> None:
    """Create the Address extension and identification keys, leaving the server in maintenance mode."""
    if address:
        resp = await client.post("/metadata/profiles/extensions", json=ADDRESS)
        assert resp.status_code == 201, resp.text
    await set_mode(client, "maintenance")
    for key in keys:
        resp = await client.post("/metadata/identification-keys", json=key)
        assert resp.status_code == 201, resp.text


async def imported(client: httpx.AsyncClient, description: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Run an import that must answer 200; its report."""
    resp = await post_import(client, description, **kwargs)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def identify(client: httpx.AsyncClient, extensions: str = "Address", **params: str) -> list[dict[str, Any]]:
    """GET /profiles (production mode) as a list of matches, with their profile and these extensions."""
    wanted = {"extensions": extensions} if extensions else {}
    resp = await client.get("/profiles", params={**params, "include_profile": "yes", **wanted})
    assert resp.status_code == 200, resp.text
    found = resp.json()
    return found if isinstance(found, list) else [found]


async def by_first_name(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """The one profile with this first name (through a key made on first use; production mode after)."""
    if (await client.get("/metadata/identification-keys/first_name")).status_code == 404:
        await set_mode(client, "maintenance")
        resp = await client.post("/metadata/identification-keys", json={"name": "first_name",
                                                                        "attributes": ["FirstName"]})
        assert resp.status_code == 201, resp.text
    await set_mode(client, "production")
    [found] = await identify(client, "", FirstName=name, id_key="first_name")
    return found
