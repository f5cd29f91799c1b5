"""Built-in schema content: the reference's predefined profile attributes and default business attributes."""

from __future__ import annotations

from typing import Any

from ucs_graphql.metadata.model import AttributeSchema

_BASE_PROFILE = [
    ("FirstName", "string"), ("LastName", "string"), ("PhoneNumber", "string"), ("EmailAddress", "string"),
    ("Title", "string"), ("LastCalledAgent_EmployeeID", "string"), ("LastCalledAgent_TimeStamp", "datetime"),
    ("PreferredAgent_EmployeeID", "string"),
]


def predefined_profile_attributes(media_types: tuple[str, ...]) -> list[AttributeSchema]:
    """The reference's predefined attributes, plus LCA_*/Pref_* for every configured media type."""
    pairs = list(_BASE_PROFILE)
    for media in media_types:
        pairs += [(f"LCA_EmplID_{media}", "string"), (f"LCA_TimeStamp_{media}", "datetime"),
                  (f"Pref_EmplID_{media}", "string")]
    return [AttributeSchema(name, typ, 256 if typ == "string" else None) for name, typ in pairs]


_STATE_TYPES = [
    "Customer identification", "Service identification", "Assign service agent", "Waiting for service agent",
    "Offering another service while waiting for agent", "Offering callback", "Callback pending",
    "Delivering service", "Waiting for customer input", "Offering another service while delivering service",
]


def _values(names: list[str], first_dbid: int = 1) -> list[dict[str, Any]]:
    out = []
    for i, display in enumerate(names):
        name = display.lower().replace(" ", "_")
        out.append({"name": name, "dbid": first_dbid + i, "display_name": display, "description": display})
    return out


def default_business_attributes(media_types: tuple[str, ...]) -> list[dict[str, Any]]:
    """The default set: MediaType, ServiceType, StateType (the reference's ten), TaskType, DispositionCode,
    ApplicationType, ResourceType. Each value's dbid is its position (1-based)."""
    media = [{"name": m, "dbid": i + 1, "display_name": m, "description": f"Media {m}"}
             for i, m in enumerate(media_types)]
    return [
        {"name": "MediaType", "dbid": 1001, "display_name": "Media Type", "description": "Media type identifier",
         "map_name": False, "cv_attributes": ["Service.media_type", "State.media_type", "Task.media_type"],
         "values": media},
        {"name": "ServiceType", "dbid": 1002, "display_name": "Service Type",
         "description": "Type of customer service", "map_name": False, "cv_attributes": ["Service.type"],
         "values": _values(["General inquiry", "Sales", "Support", "Billing", "Complaint"])},
        {"name": "StateType", "dbid": 1003, "display_name": "State Type",
         "description": "Type of service state", "map_name": False, "cv_attributes": ["State.type"],
         "values": _values(_STATE_TYPES)},
        {"name": "TaskType", "dbid": 1004, "display_name": "Task Type", "description": "Type of service task",
         "map_name": False, "cv_attributes": ["Task.type"],
         "values": _values(["Follow-up", "Callback", "Send documentation", "Escalation"])},
        {"name": "DispositionCode", "dbid": 1005, "display_name": "Disposition Code",
         "description": "Business disposition", "map_name": False,
         "cv_attributes": ["Service.disposition", "State.disposition", "Task.disposition"],
         "values": _values(["Resolved", "Not resolved", "Transferred", "Abandoned", "Normal ending"])},
        {"name": "ApplicationType", "dbid": 1006, "display_name": "Application Type",
         "description": "Type of application issuing service events", "map_name": False,
         "cv_attributes": ["Service.application_type", "State.application_type", "Task.application_type"],
         "values": _values(["IVR", "Orchestration", "Agent desktop", "Web", "Mobile"])},
        {"name": "ResourceType", "dbid": 1007, "display_name": "Resource Type",
         "description": "Type of resource providing the service", "map_name": False,
         "cv_attributes": ["Service.resource_type", "State.resource_type", "Task.resource_type"],
         "values": _values(["GVP", "Agent", "Orchestration", "Self-service"])},
    ]
