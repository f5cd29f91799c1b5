"""Schema documents as typed values: parsing (with the reference's string coercions) and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ucs_graphql.kit.errors import BadParameter, MissingParameter
from ucs_graphql.kit.names import ATTRIBUTE_NAME_MAX, EXTENSION_NAME_MAX, KEY_NAME_MAX, check_name
from ucs_graphql.kit.timefmt import format_dt, parse_date, parse_dt

ATTRIBUTE_TYPES = ("boolean", "string", "integer", "long", "double", "date", "datetime", "currency")
PROFILE_ATTRIBUTE_TYPES = ("string", "datetime", "date")
EXTENSION_TYPES = ("single-valued", "multi-valued", "classifier")
LEVELS = ("profile", "service", "state", "task")
NORMALIZATIONS = ("phone", "email", "casefold")
STRING_DEFAULT_LENGTH = 256
STRING_MAX_LENGTH = 4000
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

Level = Literal["profile", "service", "state", "task"]


def coerce_bool(param: str, value: Any) -> bool:
    """A JSON boolean, or "true"/"false" as the reference's examples write them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadParameter(param, f"'{value}' is not a boolean")


def coerce_int(param: str, value: Any) -> int:
    """A JSON integer, or a string of digits."""
    if isinstance(value, bool):
        raise BadParameter(param, f"'{value}' is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadParameter(param, f"'{value}' is not an integer")


@dataclass(frozen=True)
class AttributeSchema:
    """One attribute of a profile or extension schema."""

    name: str
    type: str
    length: int | None = None
    default: Any = None
    mandatory: bool = False
    encrypt: bool = False

    @property
    def key(self) -> str:
        return self.name.lower()

    def to_doc(self) -> dict[str, Any]:
        """The wire form of the schema (the reference's field names)."""
        doc: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type == "string":
            doc["length"] = self.length
        if self.default is not None:
            doc["default"] = self.default
        doc["mandatory"] = self.mandatory
        doc["encrypt"] = self.encrypt
        return doc

    def coerce(self, param: str, value: Any) -> Any:
        """Check and normalise one value of this attribute (raises BadParameter naming `param`)."""
        t = self.type
        if t == "string":
            if not isinstance(value, str):
                raise BadParameter(param, f"'{value}' is not a string")
            if self.length is not None and len(value) > self.length:
                raise BadParameter(param, f"value is longer than {self.length} characters")
            return value
        if t == "boolean":
            return coerce_bool(param, value)
        if t in ("integer", "long"):
            n = coerce_int(param, value)
            lo, hi = INT32 if t == "integer" else INT64
            if not lo <= n <= hi:
                raise BadParameter(param, f"'{value}' is out of range for {t}")
            return n
        if t in ("double", "currency"):
            if isinstance(value, bool):
                raise BadParameter(param, f"'{value}' is not a number")
            if isinstance(value, int | float):
                return value
            if isinstance(value, str):
                try:
                    return float(value.strip())
                except ValueError:
                    pass
            raise BadParameter(param, f"'{value}' is not a number")
        if t == "datetime":
            if not isinstance(value, str):
                raise BadParameter(param, f"'{value}' is not a date/time (yyyy-MM-ddTHH:mm:ss.SSSZ)")
            try:
                return format_dt(parse_dt(value))
            except ValueError as exc:
                raise BadParameter(param, str(exc)) from exc
        if t == "date":
            if not isinstance(value, str):
                raise BadParameter(param, f"'{value}' is not a date (yyyy-MM-dd)")
            try:
                return parse_date(value).isoformat()
            except ValueError as exc:
                raise BadParameter(param, str(exc)) from exc
        raise BadParameter(param, f"unknown type '{t}'")  # pragma: no cover - types are checked at parse


def parse_attribute(doc: Any, param: str = "attributes", *, profile: bool = False) -> AttributeSchema:
    """Parse an Attribute Schema document (numbers and booleans may be strings)."""
    if not isinstance(doc, dict):
        raise BadParameter(param, "an attribute schema must be a JSON object")
    name = check_name(f"{param}.name", doc.get("name"), ATTRIBUTE_NAME_MAX)
    raw_type = doc.get("type")
    if raw_type is None:
        raise MissingParameter(f"{name}.type")
    if not isinstance(raw_type, str) or raw_type.strip().lower() not in ATTRIBUTE_TYPES:
        raise BadParameter(f"{name}.type", f"'{raw_type}' is not one of {', '.join(ATTRIBUTE_TYPES)}")
    typ = raw_type.strip().lower()
    if profile and typ not in PROFILE_ATTRIBUTE_TYPES:
        raise BadParameter(f"{name}.type", "profile attributes are of type string or datetime")
    if profile and typ == "date":
        typ = "datetime"
    unknown = set(doc) - {"name", "type", "length", "default", "mandatory", "encrypt"}
    if unknown:
        raise BadParameter(param, f"unknown field '{sorted(unknown)[0]}' in attribute '{name}'")
    length: int | None = None
    if typ == "string":
        length = STRING_DEFAULT_LENGTH
        if doc.get("length") is not None:
            length = coerce_int(f"{name}.length", doc["length"])
            if not 1 <= length <= STRING_MAX_LENGTH:
                raise BadParameter(f"{name}.length", f"length must be between 1 and {STRING_MAX_LENGTH}")
    mandatory = coerce_bool(f"{name}.mandatory", doc["mandatory"]) if doc.get("mandatory") is not None else False
    encrypt = coerce_bool(f"{name}.encrypt", doc["encrypt"]) if doc.get("encrypt") is not None else False
    attr = AttributeSchema(name=name, type=typ, length=length, mandatory=mandatory, encrypt=encrypt)
    if doc.get("default") is not None:
        default = attr.coerce(f"{name}.default", doc["default"])
        attr = AttributeSchema(name, typ, length, default, mandatory, encrypt)
    return attr


@dataclass(frozen=True)
class ExtensionSchema:
    """A profile, service, state or task extension schema."""

    name: str
    level: str
    type: str
    attributes: tuple[AttributeSchema, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    unique_doc: tuple[Any, ...] = ()

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def multi(self) -> bool:
        return self.type == "multi-valued"

    @property
    def unique_attributes(self) -> tuple[str, ...]:
        """Every attribute named in `unique`, in schema order, without repeats."""
        named = {n.lower() for group in self.unique for n in group}
        return tuple(a.name for a in self.attributes if a.key in named)

    def attribute(self, name: str) -> AttributeSchema | None:
        """The attribute called `name` (case-insensitive), or None."""
        low = name.lower()
        for attr in self.attributes:
            if attr.key == low:
                return attr
        return None

    def to_doc(self) -> dict[str, Any]:
        """The wire form of the schema."""
        doc: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "attributes": [a.to_doc() for a in self.attributes],
        }
        if self.unique_doc:
            doc["unique"] = list(self.unique_doc)
        return doc


def parse_extension_schema(doc: Any, level: str) -> ExtensionSchema:
    """Parse an Extension Schema document for `level` (profile, service, state or task)."""
    if not isinstance(doc, dict):
        raise BadParameter("extension schema", "an extension schema must be a JSON object")
    name = check_name("name", doc.get("name"), EXTENSION_NAME_MAX)
    raw_type = doc.get("type")
    if raw_type is None:
        raise MissingParameter("type")
    typ = raw_type.strip().lower() if isinstance(raw_type, str) else raw_type
    if typ not in EXTENSION_TYPES:
        raise BadParameter("type", f"'{raw_type}' is not one of single-valued, multi-valued, classifier")
    if typ == "classifier" and level != "profile":
        raise BadParameter("type", f"the classifier type exists for profile extensions only, not {level}")
    unknown = set(doc) - {"name", "type", "attributes", "unique", "required"}
    if unknown:
        raise BadParameter(sorted(unknown)[0], "unknown field in extension schema")
    raw_attrs = doc.get("attributes")
    if raw_attrs is None:
        if level != "profile":
            raise MissingParameter("attributes")
        raw_attrs = []
    if not isinstance(raw_attrs, list):
        raise BadParameter("attributes", "attributes must be an array of attribute schemas")
    if typ == "classifier" and raw_attrs:
        raise BadParameter("attributes", "a classifier extension has no attributes")
    attrs = tuple(parse_attribute(a, f"attributes[{i}]") for i, a in enumerate(raw_attrs))
    seen: set[str] = set()
    for a in attrs:
        if a.key in seen:
            raise BadParameter("attributes", f"attribute '{a.name}' is defined twice")
        seen.add(a.key)
    if typ != "classifier" and not attrs and level != "profile":
        raise BadParameter("attributes", "an extension needs at least one attribute")
    raw_unique = doc.get("unique") or []
    if not isinstance(raw_unique, list):
        raise BadParameter("unique", "unique must be an array of attribute names or arrays of names")
    groups: list[tuple[str, ...]] = []
    for item in raw_unique:
        names = [item] if isinstance(item, str) else item
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise BadParameter("unique", f"'{item}' is neither an attribute name nor an array of names")
        for n in names:
            if n.lower() not in seen:
                raise BadParameter("unique", f"'{n}' is not an attribute of extension '{name}'")
        groups.append(tuple(n.strip() for n in names))
    return ExtensionSchema(name, level, typ, attrs, tuple(groups), tuple(raw_unique))


@dataclass(frozen=True)
class IdentificationKey:
    """An identification key: attributes of the profile or of one profile extension."""

    name: str
    source: str  # "profile" or an extension name
    attributes: tuple[str, ...]
    unique: bool = False
    normalize: str | None = None
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.name.lower()

    @property
    def on_profile(self) -> bool:
        return self.source.lower() == "profile"

    def to_doc(self) -> dict[str, Any]:
        """The wire form; extension attributes are prefixed with the extension name."""
        attrs = list(self.attributes) if self.on_profile else [f"{self.source}.{a}" for a in self.attributes]
        doc: dict[str, Any] = {"name": self.name, "source": self.source, "attributes": attrs}
        doc["unique"] = self.unique
        if self.normalize:
            doc["normalize"] = self.normalize
        return doc

    def stored_doc(self) -> dict[str, Any]:
        """The form kept in the database (attributes unprefixed)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "attributes": list(self.attributes),
            "unique": self.unique,
        }
        if self.normalize:
            doc["normalize"] = self.normalize
        return doc


def parse_identification_key_doc(doc: Any) -> tuple[str, str, list[str], bool, str | None]:
    """The raw parts of an Identification Key document: name, source, attributes, unique, normalize.

    Existence of the source and its attributes is checked by the caller against the current schemas.
    """
    if not isinstance(doc, dict):
        raise BadParameter("identification key", "an identification key must be a JSON object")
    name = check_name("name", doc.get("name"), KEY_NAME_MAX)
    unknown = set(doc) - {"name", "source", "extension", "attributes", "unique", "normalize"}
    if unknown:
        raise BadParameter(sorted(unknown)[0], "unknown field in identification key")
    source = doc.get("source")
    ext = doc.get("extension")
    if source is not None and ext is not None and str(source).lower() != str(ext).lower():
        raise BadParameter("source", "give the extension in 'source' or in 'extension', not two different ones")
    source = source if source is not None else (ext if ext is not None else "profile")
    if not isinstance(source, str) or not source.strip():
        raise BadParameter("source", f"'{source}' is not 'profile' or an extension name")
    attrs = doc.get("attributes")
    if attrs is None:
        raise MissingParameter("attributes")
    if not isinstance(attrs, list) or not attrs or not all(isinstance(a, str) for a in attrs):
        raise BadParameter("attributes", "attributes must be a non-empty array of attribute names")
    unique = coerce_bool("unique", doc["unique"]) if doc.get("unique") is not None else False
    normalize = doc.get("normalize")
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise BadParameter("normalize", f"'{normalize}' is not one of {', '.join(NORMALIZATIONS)}")
    return name, source.strip(), [a.strip() for a in attrs], unique, normalize
