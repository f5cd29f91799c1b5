"""Interaction ingestion (POST /interactions): every kind, its validation and content, JSON and multipart."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import assert_error, set_mode

COMMON = {
    "customer_id": "00001a57JGQ00BVU", "status": 3, "type": "Inbound", "media_type": "chat",
    "creator_app_id": 175, "start_date": "2009-08-05T09:33:10.000Z",
}
ADDRESS = {"address": "jane@example.com", "personal": "Jane Doe"}

# One valid body per entity_type, with the fields of its kind.
KINDS = {
    0: {"from": ADDRESS, "reply_to": {"address": "r@example.com"}, "to": [ADDRESS], "cc": [],
        "sent_date": "2009-08-05T09:30:00Z", "media_type": "email"},
    1: {"from": ADDRESS, "to": [ADDRESS], "bcc": [{"address": "b@example.com"}], "reference_id": 12,
        "reviewer_id": 4, "standard_response_id": "SR-9", "media_type": "email", "type": "Outbound"},
    2: {"established_date": "2009-08-05T09:33:15.000Z", "released_date": "2009-08-05T09:33:59.000Z"},
    3: {"duration": 64, "outcome": "sale", "phone_number": "+33298143456", "tconnection_id": "006e02a1",
        "media_type": "voice"},
    5: {"callback_status": 4, "desired_response_type": "Voice", "start_time": "2009-08-05T10:00:00Z",
        "end_time": "2009-08-05T12:00:00Z", "customer_number": "+33298143456", "attempts": 1, "dn": "7001",
        "location": "SIP_Switch", "callback_server_id": "cb1", "call_result": 53, "callback_type": 2,
        "media_type": "callback"},
    6: {"media_type": "cobrowse"},
    7: {"media_type": "sms", "sub_type": "InboundNew"},
}


def body(entity_type: int, **extra: object) -> dict:
    return {**COMMON, "entity_type": entity_type, **KINDS[entity_type], **extra}


@pytest.mark.parametrize("entity_type", sorted(KINDS))
async def test_each_kind_is_ingested_and_read_back(client, entity_type):
    sent = body(entity_type, udata={"RTenant": "defaultTenant", "nested": {"a": [1, 2]}})
    resp = await client.post("/interactions", json=sent)
    assert resp.status_code == 201, resp.text
    iid = resp.json()["interaction_id"]
    assert len(iid) == 16 and iid.isalnum()
    assert resp.headers["location"] == f"/interactions/{iid}"
    got = (await client.get(f"/interactions/{iid}")).json()
    expected = {**sent, "interaction_id": iid, "allow_children": True}
    for date_field in ("start_date", "sent_date", "start_time", "end_time"):
        if date_field in expected and not expected[date_field].endswith(".000Z"):
            expected[date_field] = expected[date_field].replace("Z", ".000Z")
    assert got == expected


async def test_explicit_id_is_kept_and_a_second_time_is_409(client):
    resp = await client.post("/interactions", json=body(2, interaction_id="00001a57JGQ00BW8", allow_children=False))
    assert resp.status_code == 201
    assert resp.json() == {"interaction_id": "00001a57JGQ00BW8"}
    assert (await client.get("/interactions/00001a57JGQ00BW8")).json()["allow_children"] is False
    assert_error(await client.post("/interactions", json=body(3, interaction_id="00001a57JGQ00BW8")), 409, 4090,
                 "00001a57JGQ00BW8")


@pytest.mark.parametrize("mutate, status, code, fragment", [
    # common mandatory fields
    (lambda b: b.pop("customer_id"), 400, 4021, "'customer_id'"),
    (lambda b: b.pop("entity_type"), 400, 4021, "'entity_type'"),
    (lambda b: b.pop("status"), 400, 4021, "'status'"),
    (lambda b: b.pop("type"), 400, 4021, "'type'"),
    (lambda b: b.update(media_type=""), 400, 4021, "'media_type'"),
    (lambda b: b.pop("creator_app_id"), 400, 4021, "'creator_app_id'"),
    (lambda b: b.pop("start_date"), 400, 4021, "'start_date'"),
    # enumerated values and types
    (lambda b: b.update(entity_type=4), 400, 4020, "7-INTERACTION"),
    (lambda b: b.update(entity_type="2"), 400, 4020, "not an integer"),
    (lambda b: b.update(status=4), 400, 4020, "3-STOPPED"),
    (lambda b: b.update(status=True), 400, 4020, "not an integer"),
    (lambda b: b.update(creator_app_id="app"), 400, 4020, "'creator_app_id'"),
    (lambda b: b.update(start_date="yesterday"), 400, 4020, "'start_date'"),
    (lambda b: b.update(end_date="2009-13-45"), 400, 4020, "'end_date'"),
    (lambda b: b.update(allow_children="yes"), 400, 4020, "true or false"),
    (lambda b: b.update(subject=5), 400, 4020, "not a string"),
    (lambda b: b.update(udata=["a", "b"]), 400, 4020, "'udata'"),
    (lambda b: b.update(customer_id="x" * 17), 400, 4020, "16"),
    (lambda b: b.update(service_id=0), 400, 4020, "'service_id'"),
    (lambda b: b.update(interaction_id="a/b"), 400, 4020, "'interaction_id'"),
    (lambda b: b.update(interaction_id="a" * 65), 400, 4020, "64"),
    # fields of another kind, or of none
    (lambda b: b.update(duration=5), 400, 4020, "PHONE_CALL"),
    (lambda b: b.update(colour="red"), 400, 4020, "'colour' reason : is not a field"),
], ids=lambda v: v if isinstance(v, str) else None)
async def test_common_field_errors(client, mutate, status, code, fragment):
    sent = body(2)
    mutate(sent)
    assert_error(await client.post("/interactions", json=sent), status, code, fragment)


@pytest.mark.parametrize("entity_type, extra, code, fragment", [
    (0, {"from": "jane@example.com"}, 4020, "e-mail address object"),
    (0, {"from": {"personal": "Jane"}}, 4021, "'from.address'"),
    (0, {"to": [{"address": "not-an-address"}]}, 4020, "'to[0].address'"),
    (0, {"cc": ADDRESS}, 4020, "array of e-mail address"),
    (0, {"reply_to": {"address": "a@b.c", "name": "x"}}, 4020, "'reply_to.name'"),
    (0, {"bcc": [ADDRESS]}, 4020, "EMAIL_OUT interactions, not of EMAIL_IN"),
    (0, {"sent_date": "soon"}, 4020, "'sent_date'"),
    (1, {"bcc": [{"address": ""}]}, 4021, "'bcc[0].address'"),
    (1, {"reference_id": "<msg@x>"}, 4020, "'reference_id'"),
    (2, {"released_date": 12}, 4020, "'released_date'"),
    (2, {"established_date": "today"}, 4020, "'established_date'"),
    (3, {"duration": -1}, 4020, "'duration'"),
    (3, {"phone_number": 33298143456}, 4020, "'phone_number'"),
    (5, {"desired_response_type": None}, 4021, "'desired_response_type'"),
    (5, {"desired_response_type": "Fax"}, 4020, "Voice, VoIP, Email"),
    (5, {"start_time": None}, 4021, "'start_time'"),
    (5, {"customer_number": ""}, 4021, "'customer_number'"),
    (5, {"attempts": None}, 4021, "'attempts'"),
    (5, {"callback_status": 15}, 4020, "14-ENDTIME_EXPIRED"),
    (5, {"call_result": 54}, 4020, "53-WRONG_NUMBER"),
    (5, {"callback_type": 3}, 4020, "2-SCHEDULED"),
    (6, {"established_date": "2009-08-05T09:33:15Z"}, 4020, "CHAT interactions, not of COBROWSE"),
    (7, {"customer_number": "1"}, 4020, "CALLBACK interactions, not of INTERACTION"),
])
async def test_kind_field_errors(client, entity_type, extra, code, fragment):
    sent = body(entity_type)
    sent.update(extra)
    assert_error(await client.post("/interactions", json=sent), 400, code, fragment)


async def test_callback_response_type_is_case_insensitive(client):
    iid = (await client.post("/interactions", json=body(5, desired_response_type="voip"))).json()["interaction_id"]
    assert (await client.get(f"/interactions/{iid}")).json()["desired_response_type"] == "VoIP"


@pytest.mark.parametrize("extra, code, fragment", [
    ({"structured_text": "<p/>"}, 4021, "'structured_text_mime'"),
    ({"structured_text_mime": "text/html"}, 4020, "without structured_text"),
    ({"structured_text": "<p/>", "structured_text_mime": "html"}, 4020, "not a mime type"),
    ({"binary_content": "AAEC"}, 4021, "'binary_content_mime'"),
    ({"binary_content": "not base64!", "binary_content_mime": "image/png"}, 4020, "base64"),
    ({"binary_content": "AAEC", "binary_content_mime": "image/png", "binary_content_size": 4}, 4020,
     "(3 bytes)"),
    ({"binary_content_mime": "image/png"}, 4020, "without binary_content"),
    ({"binary_content_size": 3}, 4020, "without binary_content"),
    ({"text": 12}, 4020, "'text'"),
])
async def test_content_field_errors(client, extra, code, fragment):
    assert_error(await client.post("/interactions", json=body(7, **extra)), 400, code, fragment)


async def test_base64_content_with_mime_and_size(client):
    blob = bytes(range(256)) * 4
    encoded = base64.encodebytes(blob).decode()  # MIME-style line breaks are accepted
    sent = body(0, text="Hello Jane", structured_text="<p>Hello <b>Jane</b></p>", structured_text_mime="text/html",
                binary_content=encoded, binary_content_mime="application/pdf", binary_content_size=len(blob))
    iid = (await client.post("/interactions", json=sent)).json()["interaction_id"]
    got = (await client.get(f"/interactions/{iid}")).json()
    base = f"http://testserver/interactions/{iid}"
    assert got["text"] == f"{base}/plain_text"
    assert got["structured_text"] == f"{base}/structured_text"
    assert got["binary_content"] == f"{base}/binary_content"
    assert (got["structured_text_mime"], got["binary_content_mime"], got["binary_content_size"]) == (
        "text/html", "application/pdf", 1024)
    raw = await client.get(f"{base}/binary_content")
    assert raw.status_code == 200 and raw.content == blob
    assert raw.headers["content-type"] == "application/pdf"
    html = await client.get(f"{base}/structured_text")
    assert html.text == "<p>Hello <b>Jane</b></p>" and html.headers["content-type"].startswith("text/html")
    plain = await client.get(f"{base}/plain_text")
    assert plain.text == "Hello Jane" and plain.headers["content-type"] == "text/plain; charset=utf-8"


async def test_multipart_upload(client):
    blob = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100
    meta = body(2, interaction_id="chat-1")
    resp = await client.post("/interactions", data={"interaction": json.dumps(meta)}, files={
        "plain_text": (None, b"typed text"),
        "binary_content": ("shot.png", blob, "image/png"),
        "structured_text": ("t.xml", "<chat><m>héllo</m></chat>".encode(), "text/xml"),
    })
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"interaction_id": "chat-1"}
    got = (await client.get("/interactions/chat-1")).json()
    assert (got["binary_content_mime"], got["binary_content_size"], got["structured_text_mime"]) == (
        "image/png", len(blob), "text/xml")
    assert (await client.get("/interactions/chat-1/binary_content")).content == blob
    assert (await client.get("/interactions/chat-1/structured_text")).text == "<chat><m>héllo</m></chat>"
    assert (await client.get("/interactions/chat-1/plain_text")).text == "typed text"


async def test_multipart_json_part_may_be_a_file_and_its_mime_wins(client):
    meta = body(7, binary_content_mime="audio/wav")
    resp = await client.post("/interactions", files={
        "interaction": ("i.json", json.dumps(meta).encode(), "application/json"),
        "binary_content": ("rec", b"RIFF....", None),
    })
    assert resp.status_code == 201, resp.text
    iid = resp.json()["interaction_id"]
    raw = await client.get(f"/interactions/{iid}/binary_content")
    assert raw.headers["content-type"] == "audio/wav" and raw.content == b"RIFF...."


@pytest.mark.parametrize("data, files, code, fragment", [
    ({}, {"binary_content": ("a", b"x", "image/png")}, 4021, "'interaction'"),
    ({"interaction": "{not json"}, {"text": (None, b"x")}, 4000, "invalid JSON"),
    ({"interaction": json.dumps(body(7, binary_content="AAEC", binary_content_mime="image/png"))},
     {"binary_content": ("a", b"x", "image/png")}, 4020, "both in the JSON and as an uploaded part"),
    ({"interaction": json.dumps(body(7))}, {"x": ("a", b"x", None)}, 4020, "'x' reason : is not a content part"),
    ({"interaction": json.dumps(body(7))}, {"binary_content": (None, b"a field")}, 4020, "file part"),
    ({"interaction": json.dumps(body(7))}, {"structured_text": (None, b"<a/>")}, 4021,
     "'structured_text_mime'"),
    ({"interaction": json.dumps(body(7))}, {"text": ("a", b"\xff\xfe", "text/plain")}, 4020, "UTF-8"),
    ({"interaction": json.dumps(body(7))}, {"text": (None, b"a"), "plain_text": (None, b"b")}, 4020, "twice"),
])
async def test_multipart_errors(client, data, files, code, fragment):
    assert_error(await client.post("/interactions", data=data, files=files), 400, code, fragment)


async def test_body_format_errors(client):
    assert_error(await client.post("/interactions", content=b"{", headers={"content-type": "application/json"}),
                 400, 4000)
    assert_error(await client.post("/interactions", content=b"a=b",
                                   headers={"content-type": "application/x-www-form-urlencoded"}), 415, 4150)
    assert_error(await client.post("/interactions", json=[body(2)]), 400, 4020, "JSON object")


async def test_maintenance_mode_refuses_interactions(client):
    iid = (await client.post("/interactions", json=body(2))).json()["interaction_id"]
    await set_mode(client, "maintenance")
    assert_error(await client.post("/interactions", json=body(2)), 403, 4031, "maintenance")
    for path in (f"/interactions/{iid}", f"/interactions/{iid}/plain_text", "/customers/c/interactions",
                 "/services/1/interactions"):
        assert_error(await client.get(path), 403, 4031)
    await set_mode(client, "production")
    assert (await client.get(f"/interactions/{iid}")).status_code == 200


@pytest.mark.parametrize("entity_type", sorted(KINDS))
def test_graphql_object_of_a_stored_interaction_holds_what_its_init_would(entity_type):
    """GraphQL's interaction objects are made from one dict, not through the dataclass __init__: every field
    is set (addresses converted), and the object equals the one __init__ makes from the same values."""
    import dataclasses

    from ucs_graphql.graphql.interactions import EmailAddress, to_graphql
    from ucs_graphql.interactions.store import of_values

    stored = {k: v for k, v in body(entity_type).items() if k != "customer_id"}
    record = of_values("ix-1", COMMON["customer_id"], 7, entity_type, 1249464790000, json.dumps(stored), True, 0, 1)
    made = to_graphql(record)
    cls = type(made)
    assert set(vars(made)) == {f.name for f in dataclasses.fields(cls) if f.init}
    assert made == cls(**vars(made))
    assert (made.record, made.interaction_id, made.customer_id, made.service_id) == (
        record, "ix-1", COMMON["customer_id"], 7)
    assert made.media_type == stored["media_type"] and made.subject is None
    assert record.parts == {"plain_text", "binary_content"}
    if "from" in stored:
        assert made.from_ == EmailAddress(address="jane@example.com", personal="Jane Doe")
        assert made.to == [EmailAddress(address="jane@example.com", personal="Jane Doe")]
