"""What reading each field of the GraphQL schema needs: the tasks of the REST reads that return the same data.

Root fields need the one task their `HasTask` declares (ucs_graphql.graphql.permissions). Every field of
every other object and interface type is listed here with a `Read`: the caller must hold one of its tasks,
which are the tasks of the REST routes named beside it (a test checks them against the route table). A field
read with no task (`FREE`) shows nothing beyond the object its parent field gave: an id the writer named, or
a part of a document whose field already needed its task.

`grants` are what REST returns under a task although another field would need a different one: identify
with include_profile returns the profile (so `identify` grants readProfile below it), and the states of a
service nest their tasks (so `State.tasks` grants the fields of tasks, `TASKS_OF_A_STATE`, to a caller
holding readState). A grant holds only below the field that gives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ucs_graphql.access import tasks as t

TASKS_OF_A_STATE = "reach:tasks-of-a-state"
"""Not a UCS task: what `State.tasks` grants below it (REST nests a state's tasks, without their extensions,
in the states readState returns)."""


@dataclass(frozen=True)
class Read:
    """What reading one field needs: one of `tasks` (none: `FREE`), as the REST reads `rest` (method and
    path of the route table) return its data; `grants` are held below it."""

    tasks: frozenset[str] = frozenset()
    rest: tuple[str, ...] = ()
    grants: frozenset[str] = frozenset()


FREE = Read()


def needs(*tasks: str, rest: tuple[str, ...] = (), grants: tuple[str, ...] = ()) -> Read:
    """A field readable by a caller holding one of `tasks`."""
    return Read(frozenset(tasks), rest, frozenset(grants))


_S = "/services/{service_id:int}"
PROFILE = needs(t.READ_PROFILE, rest=("GET /profiles/{customer_id}",))
SERVICE = needs(t.READ_SERVICE, rest=(f"GET {_S}",))
STATE = needs(t.READ_SERVICE, t.READ_STATE, rest=(f"GET {_S}", f"GET {_S}/states"))
TASK = needs(t.READ_SERVICE, t.READ_TASK, TASKS_OF_A_STATE, rest=(f"GET {_S}", f"GET {_S}/tasks"))
INTERACTION = needs(t.READ_INTERACTION, rest=("GET /interactions/{id}",))
_NODES = ("Service", "State", "Task", "Interaction")
# A connection's own fields show nothing beyond what the field that returns it needed.
_PAGE = {"PageInfo": {"hasNextPage": FREE, "hasPreviousPage": FREE, "startCursor": FREE, "endCursor": FREE}}
_CONNECTIONS = {**{f"{node}Connection": {"edges": FREE, "pageInfo": FREE} for node in _NODES},
                **{f"{node}Edge": {"cursor": FREE, "node": FREE} for node in _NODES}}


def _all(names: str, read: Read) -> dict[str, Read]:
    return dict.fromkeys(names.split(), read)


_ITEM = "estDuration duration estDurationMs durationMs disposition dispositionDesc started completed"
_INTERACTION = ("customerId serviceId entityType status type subType mediaType parentId threadId externalId "
                "ownerId creatorAppId startDate endDate timeshift categoryId allowChildren subject stoppedReason "
                "udata structuredTextMime binaryContentMime binaryContentSize textUrl structuredTextUrl "
                "binaryContentUrl text structuredText binaryContent")
_INTERACTION_READS = {"id": FREE, "interactionId": FREE, **_all(_INTERACTION, INTERACTION), "customer": PROFILE,
                      "service": SERVICE}
_EMAIL = "from replyTo to cc sentDate"

ROOT_GRANTS: Mapping[tuple[str, str], Read] = {
    # REST identify with include_profile (and extensions=) returns the profiles it finds.
    ("Query", "identify"): needs(rest=("GET /profiles",), grants=(t.READ_PROFILE,)),
}
"""What a root field's own task returns below it beyond the reads of its fields (REST route of that task)."""

FIELDS: Mapping[str, Mapping[str, Read]] = {
    "Profile": {"id": FREE, "customerId": FREE, "attributes": PROFILE, "extensions": PROFILE,
                "services": needs(t.READ_SERVICE, rest=("GET /customers/{customer_id}/services",)),
                "activeServices": needs(t.READ_SERVICE, rest=("GET /customers/{customer_id}/services/active",)),
                "interactions": needs(t.READ_INTERACTION, rest=("GET /customers/{id}/interactions",))},
    "Service": {
        "customer": PROFILE, "interactions": needs(t.READ_INTERACTION, rest=("GET /services/{id:int}/interactions",)),
        "id": FREE, "serviceId": FREE, **_all(f"{_ITEM} serviceType customerId contactKey extensions", SERVICE),
        # GET /services/{id}?active_states=yes nests states (and their tasks) without their extensions.
        **_all("states stateConnection", needs(t.READ_SERVICE, t.READ_STATE, rest=(f"GET {_S}", f"GET {_S}/states"))),
        **_all("tasks taskConnection", needs(t.READ_SERVICE, t.READ_TASK, rest=(f"GET {_S}", f"GET {_S}/tasks"))),
    },
    "State": {
        "id": FREE, "stateId": FREE, "serviceId": FREE, **_all(f"{_ITEM} stateType previousStateId", STATE),
        **_all("tasks taskConnection", needs(t.READ_SERVICE, t.READ_STATE, t.READ_TASK,
                                             rest=(f"GET {_S}", f"GET {_S}/states", f"GET {_S}/tasks"),
                                             grants=(TASKS_OF_A_STATE,))),
        "extensions": needs(t.READ_STATE, rest=(f"GET {_S}/states",)),
    },
    "Task": {
        "id": FREE, "taskId": FREE, "serviceId": FREE, **_all(f"{_ITEM} taskType stateId", TASK), "state": STATE,
        "extensions": needs(t.READ_TASK, rest=(f"GET {_S}/tasks",)),
    },
    "Node": {"id": FREE},
    "LifecycleEvent": _all("timestamp sessionId interactionId applicationType applicationId resourceType "
                           "resourceId mediaType previousStateId", FREE),
    # The subscription's own task (readService) covers what an event says of a service and its items.
    "JourneyEvent": {**_all("kind serviceId customerId timestamp stateId taskId fromStateId", FREE),
                     "service": SERVICE},
    "Interaction": _INTERACTION_READS,
    "EmailInInteraction": {**_INTERACTION_READS, **_all(_EMAIL, INTERACTION)},
    "EmailOutInteraction": {**_INTERACTION_READS, **_all(f"{_EMAIL} bcc referenceId reviewerId "
                                                         "standardResponseId", INTERACTION)},
    "ChatInteraction": {**_INTERACTION_READS, **_all("establishedDate releasedDate", INTERACTION)},
    "PhoneCallInteraction": {**_INTERACTION_READS, **_all("duration outcome phoneNumber tconnectionId",
                                                          INTERACTION)},
    "CallbackInteraction": {**_INTERACTION_READS, **_all(
        "callbackStatus desiredResponseType startTime endTime customerNumber attempts dn location "
        "callbackServerId callResult callbackType", INTERACTION)},
    "CobrowseInteraction": _INTERACTION_READS,
    "OpenMediaInteraction": _INTERACTION_READS,
    "EmailAddress": _all("address personal", FREE),
    # The caller's own name, tasks and tenants: `viewer` needs no task, any signed-in caller reads them.
    "Viewer": _all("name tasks tenants tenant anonymous", FREE),
    **_PAGE, **_CONNECTIONS,
    # Schema metadata, server status and counts: only their root fields (each with its read task) return them.
    "AttributeSchema": _all("name type length default mandatory encrypt", FREE),
    "ExtensionSchema": _all("name type attributes unique", FREE),
    "IdentificationKey": _all("name source attributes unique normalize", FREE),
    "ServiceTypeCount": _all("serviceType count", FREE),  # activeServiceCounts needs readService
    "ServerStatus": _all("version systemTime mode started lastRequest requestToday clientErrorsToday "
                         "serverErrorsToday maxMemory allocatedMemory usedMemory freeMemory", FREE),
}
"""Object and interface type name → field name → what reading it needs (every field of every type)."""
